"""The check: three witnesses of a gradient compared, one concern per module.

``engine`` (the independent NumPy backprop), ``witness`` (the source as the user wrote it, run
on numbers), ``differences`` (central finite differences and their judgement), ``points``
(where the check looks: seeded random values, redrawn into the domain), ``compare``
(``check(d)``: the witnesses side by side), ``report`` (the verdict as a table),
``gradcheck`` (the one-call check of a function's gradient).
"""

from __future__ import annotations

from .compare import check
from .engine import Engine, Tolerances, backprop
from .gradcheck import gradcheck
from .points import random_values
from .report import CheckReport, Mismatch, Row

__all__ = ["CheckReport", "Engine", "Mismatch", "Row", "Tolerances", "backprop", "check",
           "gradcheck", "random_values"]
