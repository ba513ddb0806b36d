"""pytest plugin (registered through the ``pytest11`` entry point): a ``gradcheck`` fixture."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def gradcheck() -> Any:
    """``gradcheck(f, inputs, grad=None, ...)``: True, or a GradcheckError with a table."""
    from .numeric import gradcheck as _gradcheck

    return _gradcheck
