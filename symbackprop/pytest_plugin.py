"""pytest plugin (registered through the ``pytest11`` entry point): gradient checks in tests.

* the ``gradcheck`` fixture: ``gradcheck(f, inputs, grad=None, **tolerances)`` returns True
  or fails the test with a table of the mismatching parameters (analytic vs numeric values);
* the ``gradcheck`` marker: ``@pytest.mark.gradcheck(atol=1e-6, rtol=1e-4, eps=1e-7, seed=1)``
  sets the fixture's tolerances for one test (keywords given in the call still win).

    def test_my_layer(gradcheck):
        gradcheck("sigmoid(w*x + b)", {"w": 0.3, "x": -1.2, "b": 0.5}, grad=my_backward)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

_KEYWORDS = frozenset({"eps", "atol", "rtol", "seed", "max_coords"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "gradcheck(eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, max_coords=32): tolerances for "
        "symbackprop's gradcheck fixture in this test")


@pytest.fixture
def gradcheck(request: pytest.FixtureRequest) -> Callable[..., bool]:
    """``gradcheck(f, inputs, grad=None, **tolerances)``: True, or a failure with a table."""
    from .check.gradcheck import gradcheck as _gradcheck

    marker = request.node.get_closest_marker("gradcheck")
    defaults: dict[str, Any] = {}
    if marker is not None:
        unknown = set(marker.kwargs) - _KEYWORDS
        if marker.args or unknown:
            raise pytest.UsageError(
                "@pytest.mark.gradcheck takes keywords only: "
                f"{', '.join(sorted(_KEYWORDS))} (got {', '.join(map(repr, marker.args))}"
                f"{', ' if marker.args and unknown else ''}{', '.join(sorted(unknown))})")
        defaults = dict(marker.kwargs)

    def run(f: Any, inputs: Any, grad: Any = None, **kw: Any) -> bool:
        __tracebackhide__ = True
        return _gradcheck(f, inputs, grad, **{**defaults, **kw})

    return run


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: Any,
                              right: Any) -> list[str] | None:
    """``assert report == True`` / ``assert report.ok is True`` shows the report's table."""
    for side in (left, right):
        cls = type(side)
        if (cls.__module__, cls.__name__) == ("symbackprop.check", "CheckReport"):
            return ["gradient check report:", *str(side).splitlines()]
    return None
