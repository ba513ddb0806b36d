"""Benchmarks for symbackprop: ``python -m benchmarks`` (see ``docs/performance.md``).

Importing this package pins BLAS to one thread (before NumPy loads it): two threads on a
shared 2-core machine are slower and noisy.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
