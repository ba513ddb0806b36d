"""Resource limits: huge numbers, long and deep text get a clear LimitError, with bounded memory.

No wall-clock assertions here (timings live in benchmarks/bench_limits.py); memory is measured
with tracemalloc and bounded generously, so a regression to "build it first, then notice" fails.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.cli import main
from symbackprop.limits import DEFAULT_LIMITS

MB = 1 << 20


def peak_memory(f: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``f``; return (its result or the exception it raised, peak traced bytes)."""
    tracemalloc.start()
    try:
        try:
            out: Any = f()
        except Exception as e:
            out = e
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


HUGE: dict[str, tuple[str, str]] = {
    # name: (text, words the message must hold)
    "tower": ("9**9**9", "Limits.max_exponent"),
    "nested-powers": ("((9**9)**9999)**9999", "Limits.max_exponent"),
    "hex-80000-bits": ("0x" + "f" * 20_000, "Limits.max_length"),
    "ten-megabytes": ("x+" * 5_000_000 + "x", "Limits.max_length"),
    "depth-100000": ("(" * 100_000 + "x" + ")" * 100_000, "Limits.max_length"),
    "sum-10000": (" + ".join(f"x{i}" for i in range(10_000)), "Limits.max_length"),
    "decimal-5000-digits": ("1" + "0" * 5_000, "digits"),
    "integer-300-bits": (str(2**300), "Limits.max_int_bits"),
    "exponent-10**20": ("x**100000000000000000000", "Limits.max_exponent"),
    "exponent-float": ("x**1e300", "Limits.max_exponent"),
    "folded-power": ("2**257", "Limits.max_int_bits"),
    "folded-fraction": ("(1/3)**200", "Limits.max_int_bits"),
    "folded-negative-power": ("2**-1000", "Limits.max_int_bits"),
    "float-overflow": ("1e300*1e300*x", "range of a float"),
    "exp-exp": ("exp(exp(1e300))", "range of a float"),
    "unary-chain": ("-" * 19_000 + "x", "Python's parser"),
    "brackets-101": ("(" * 101 + "x" + ")" * 101, "Limits.max_depth"),
    "calls-101": ("sin(" * 101 + "x" + ")" * 101, "Limits.max_depth"),
    "power-chain": ("x" + "**x" * 150, "Limits.max_depth"),
    "nodes": ("+".join(["x"] * 5_001), "Limits.max_nodes"),
    "long-name": ("a" * 65, "limit is 64"),
}


@pytest.mark.parametrize("name", sorted(HUGE))
def test_huge_input_is_a_clear_limit_error(name: str) -> None:
    text, words = HUGE[name]
    err, peak = peak_memory(lambda: sbp.parse(text))
    assert isinstance(err, sbp.LimitError), err
    assert words in str(err)
    assert len(str(err)) < 400  # the message never echoes the input
    assert peak < 64 * MB  # the input itself is not counted: it exists before


@pytest.mark.parametrize("name", sorted(HUGE))
def test_derive_and_cli_say_the_same(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    text, words = HUGE[name]
    with pytest.raises(sbp.LimitError, match=words.replace("*", r"\*").replace("(", r"\(")):
        sbp.derive(text)
    if len(text) < 100_000:  # an argument list of megabytes is the shell's problem
        assert main(["derive", "--", text]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "LimitError" in err


def test_the_limit_is_the_documented_default() -> None:
    assert sbp.Limits() == DEFAULT_LIMITS
    lim = sbp.Limits()
    assert (lim.max_length, lim.max_depth, lim.max_nodes, lim.max_int_bits, lim.max_exponent,
            lim.max_name_length) == (20_000, 100, 5_000, 256, 1_000, 64)


def test_just_under_the_limits_is_fine() -> None:
    lim = sbp.Limits()
    assert sbp.parse("(" * 99 + "x" + ")" * 99) == sbp.parse("x")
    assert sbp.parse("x**1000") is not None
    assert sbp.parse(str(2**255)) == 2**255
    assert sbp.parse("a" * 64) is not None
    text = "+".join(["x"] * 2_000)
    assert len(text) < lim.max_length
    assert sbp.parse(text) == 2_000 * sbp.parse("x")


def test_limits_are_adjustable() -> None:
    with pytest.raises(sbp.LimitError, match="max_depth"):
        sbp.parse("sin(sin(x))", limits=sbp.Limits(max_depth=1))
    with pytest.raises(sbp.LimitError, match="max_length"):
        sbp.derive("x + y", limits=sbp.Limits(max_length=3))
    with pytest.raises(sbp.LimitError, match="max_nodes"):
        sbp.Graph().let("z", "x + y + z", limits=sbp.Limits(max_nodes=2))
    big = sbp.Limits(max_int_bits=2_000, max_exponent=10_000)
    assert sbp.parse("2**1000", limits=big) == 2**1000
    d = sbp.derive("x**5000", limits=big)
    assert d.evaluate({"x": 1.0}) == {"x": 5000.0}


def test_raised_limits_still_meet_python_parser_limits() -> None:
    """Past Python's own parser limits the answer is a LimitError, not a crash."""
    big = sbp.Limits(max_length=10**7, max_depth=10**6, max_nodes=10**7)
    with pytest.raises(sbp.LimitError, match="Python's parser allows"):
        sbp.parse("(" * 1_000 + "x" + ")" * 1_000, limits=big)
    with pytest.raises(sbp.LimitError, match="split it into stages"):
        sbp.parse("-" * 100_000 + "x", limits=big)
    with pytest.raises(sbp.LimitError, match="split it into stages"):
        sbp.parse("+".join(["x"] * 100_000), limits=big)


def test_node_count_is_checked_before_python_parses() -> None:
    """A long text over max_nodes is refused without building its syntax tree."""
    text = "x+" * 500_000 + "x"  # 1 MB
    err, peak = peak_memory(lambda: sbp.parse(text, limits=sbp.Limits(max_length=10**7)))
    assert isinstance(err, sbp.LimitError)
    assert "max_nodes" in str(err)
    assert peak < 8 * MB  # ast.parse of it would take hundreds of MB


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10", None])
def test_limits_must_be_positive_ints(bad: Any) -> None:
    with pytest.raises(ValueError, match="positive int"):
        sbp.Limits(max_depth=bad)


def test_limits_argument_type() -> None:
    with pytest.raises(TypeError, match=r"symbackprop\.Limits"):
        sbp.parse("x", limits={"max_depth": 3})  # type: ignore[arg-type]


def test_cli_limit_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "sin(sin(sin(x)))", "--max-depth", "2"]) == 2
    assert "(--max-depth)" in capsys.readouterr().err
    assert main(["derive", "x**2000", "--max-exponent", "5000"]) == 0
    assert "2000" in capsys.readouterr().out
    assert main(["derive", "x + y", "--max-length", "3"]) == 2
    assert "--max-length" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["derive", "x", "--max-nodes", "0"])
    assert "at least 1" in capsys.readouterr().err


def test_recursion_limit_is_left_alone() -> None:
    before = sys.getrecursionlimit()
    for text, _ in HUGE.values():
        with contextlib.suppress(sbp.LimitError):
            sbp.parse(text)
    assert sys.getrecursionlimit() == before


# ---------------------------------------------------------------------------------------
# Sizes are limits too (issue 11 part 5): max_elements, checked before anything is allocated


def test_max_elements_is_a_limit_with_a_service_default() -> None:
    assert DEFAULT_LIMITS.max_elements == 10_000_000  # 80 MB of float64
    with pytest.raises(ValueError, match="positive int"):
        sbp.Limits(max_elements=0)


def test_evaluate_of_a_huge_intermediate_is_refused_before_it_is_made() -> None:
    """x @ x.T of a 20,000-vector: 400 M entries (3.2 GB) from 160 KB of input."""
    d = sbp.derive("sum(x@x.T)", shapes={"x": ("n", 1)})
    x = np.ones(20_000)
    for f in (d.evaluate, d.trace):
        err, peak = peak_memory(lambda f=f: f({"x": x}))  # type: ignore[misc]
        assert isinstance(err, sbp.LimitError), err
        assert "t has 400,000,000 entries, more than 10,000,000 (Limits.max_elements)" \
            in str(err)
        assert peak < 16 * MB
    assert d.evaluate({"x": np.ones(300)})["x"].shape == (300,)  # 90,000 entries: fine; 1-D as given


def test_the_sum_over_a_derivation_is_limited_too() -> None:
    """Each array under the limit, all of them together over it."""
    d = sbp.derive("sum(x@x.T)", shapes={"x": ("n", 1)}, limits=sbp.Limits())
    from symbackprop.evaluate import check_sizes

    n = 1_500  # t = x x^T and its adjoint: 2.25 M each, 4.5 M together plus temporaries
    dim = d.inputs[0].shape[0]
    total = check_sizes(d, {dim: n})
    assert total > 2 * n * n
    with pytest.raises(sbp.LimitError, match="the derivation's values together"):
        check_sizes(d, {dim: n}, sbp.Limits(max_elements=5_000_000))


def test_a_huge_value_is_refused_per_array() -> None:
    d = sbp.derive("sum(W@x)", shapes={"W": ("m", "n"), "x": ("n", 1)})
    w = np.broadcast_to(np.float64(1.0), (4_000, 3_000))  # 12 M entries, no memory
    with pytest.raises(sbp.LimitError, match="the value of W has 12,000,000 entries"):
        d.evaluate({"W": w, "x": np.ones(3_000)})


def test_cli_shapes_are_limited_before_anything_is_made(
        capsys: pytest.CaptureFixture[str]) -> None:
    err, peak = peak_memory(lambda: main(["check", "sum(W@x)", "--shape", "W=20000x20000",
                                          "--shape", "x=20000"]))
    assert err == 2
    assert peak < 16 * MB
    out = capsys.readouterr().err
    assert out.count("\n") == 1
    assert "LimitError: W (20000, 20000) has 400,000,000 entries" in out
    assert main(["derive", "sum(W@x)", "--shape", "W=20000x20000", "--shape", "x=20000"]) == 2
    assert "(--max-elements)" in capsys.readouterr().err
    assert main(["check", "sum(x@x.T)", "--shape", "x=20000"]) == 2
    assert "t has 400,000,000 entries" in capsys.readouterr().err
    assert main(["derive", "sum(W@x)", "--shape", "W=2000x1000", "--shape", "x=1000",
                 "--max-elements", "1000000"]) == 2
    assert "more than 1,000,000" in capsys.readouterr().err
    assert main(["derive", "sum(W@x)", "--shape", "W=2000x1000", "--shape", "x=1000"]) == 0


# ---------------------------------------------------------------------------------------
# held-out hostile cases: each finished (or hung, or raised past the error policy) before

_FINISH = r'''
import itertools, string, sys
import symbackprop as sbp
out = []
for text in ["power(2, 10**10)*y", "np.power(10**70, 10**70)*y", "np.power(x, 10**70)",
             "besseli(1, 10**10)*y"]:  # I₁(10¹⁰) is beyond a float's range
    try:
        sbp.derive(text)
        out.append("derived")
    except sbp.LimitError:
        out.append("limit")
for text in ["gammaln(10**10)*y", "digamma(10**70)*y", "trigamma(10**70)*y",
             "polygamma(2, 10**10)*y"]:
    out.append(str(sbp.derive(text).evaluate({"y": 1.0})["y"] is not None))
names = ["".join(p) for p in itertools.product(string.ascii_lowercase, repeat=3)]
stages = [r"q_{aaa} = \mathbf{1}^\top X"] + [
    r"q_{%s} = q_{%s}" % (names[k], names[k - 1]) for k in range(1, 1000)]
d = sbp.derive("; ".join(stages) + r"; q_{%s}\mathbf{1}" % names[999], syntax="latex",
               shapes={"X": (3, 4)})
out.append(str(len(d.forward) > 0))
print(" ".join(out))
'''


def test_constants_that_sympy_would_compute_exactly_finish() -> None:
    """np.power(2, 10**10) skipped the bound on ** (2 GB, then killed), gammaln(10**10) and
    digamma(10**70) summed exactly without end; a chain of 1000 LaTeX stages ending in 𝟏
    was 'nested too deeply' (the sizes of 𝟏 recursed a stage at a time). In a child
    process, so that a regression fails rather than hangs the suite."""
    r = subprocess.run([sys.executable, "-c", _FINISH], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["limit"] * 4 + ["True"] * 5


def test_check_counts_sizes_before_drawing_values() -> None:
    """check() drew random values before the size limits (MemoryError for 74 GiB, NumPy's
    ValueError for a dimension of 10**30); evaluate refused the same: now check() too."""
    for text, shapes in [("x * ones(100000, 1) @ ones(100000, 1).T", None),
                         ("W @ x", {"W": (10**8, "n"), "x": ("n",)}),
                         ("W @ x", {"W": (10**30, 3), "x": (3,)})]:
        d = sbp.derive(text, shapes=shapes)
        with pytest.raises(sbp.LimitError, match="max_elements"):
            d.check()


def test_sympys_recursion_is_a_limit_error() -> None:
    """A flat chain of 800 1×1 products raised RecursionError from SymPy's xreplace."""
    with pytest.raises(sbp.LimitError, match="too deep"):
        sbp.derive(" @ ".join(["u.T @ u"] * 800), shapes={"u": (3, 1)})


def test_a_flat_chain_of_hadamard_products_is_not_nesting() -> None:
    """uᵀ(X ⊙ X ⊙ … ⊙ X)v of 101 factors in paper notation was 'nested more than 100 deep'
    (the ⊙ chain counted a level a factor; the text's * chain never did)."""
    X = np.random.default_rng(0).uniform(0.5, 1.0, (3, 3))
    n = 150
    d = sbp.derive("uᵀ(" + " ⊙ ".join(["X"] * n) + ")v", wrt="X",
                   shapes={"X": (3, 3), "u": (3, 1), "v": (3, 1)})
    g = d.evaluate({"X": X, "u": np.ones((3, 1)), "v": np.ones((3, 1))})["X"]
    np.testing.assert_allclose(g, n * X ** (n - 1), rtol=1e-10)
