"""``python -m symbackprop`` works like the ``symbackprop`` command."""

import sys

from .cli import main

sys.exit(main())
