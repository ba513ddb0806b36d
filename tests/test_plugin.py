"""The pytest plugin in a real pytest run (pytester): fixture, marker, failure messages."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = '''
import math

import numpy as np
import pytest


def sig(t):
    return 1.0 / (1.0 + math.exp(-t))


def right(w, x, b):
    s = sig(w * x + b)
    return {"w": s * (1 - s) * x, "b": s * (1 - s)}


def wrong(w, x, b):
    return {**right(w, x, b), "b": 2 * right(w, x, b)["b"]}


POINT = {"w": 0.3, "x": -1.2, "b": 0.5}


def test_right(gradcheck):
    assert gradcheck("sigmoid(w*x + b)", POINT, grad=right, wrt=["w", "b"])


def test_our_own_derivation(gradcheck):
    assert gradcheck(lambda W, x: np.sum(np.tanh(W @ x)),
                     {"W": np.ones((2, 3)) * 0.1, "x": np.arange(3.0)})


def test_wrong(gradcheck):
    gradcheck("sigmoid(w*x + b)", POINT, grad=wrong, wrt=["w", "b"])


@pytest.mark.gradcheck(rtol=1e-9, atol=1e-12)
def test_marker_tightens(gradcheck):
    def nearly(w, x, b):
        return {k: v * (1 + 1e-6) for k, v in right(w, x, b).items()}
    gradcheck("sigmoid(w*x + b)", POINT, grad=nearly, wrt=["w", "b"])


@pytest.mark.gradcheck(rtol=1e-1)
def test_marker_loosens(gradcheck):
    def rough(w, x, b):
        return {k: v * 1.01 for k, v in right(w, x, b).items()}
    assert gradcheck("sigmoid(w*x + b)", POINT, grad=rough, wrt=["w", "b"])


def test_report_assertion():
    import symbackprop as sbp
    assert sbp.derive("log(x)").check({"x": -1.0}) == True  # noqa: E712
'''


def test_fixture_marker_and_messages(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=3)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*test_wrong*",
        "*GradcheckError: gradcheck failed for b (your gradient vs engine, finite differences*",
        "*b*scalar*MISMATCH: yours disagrees*",
    ])
    assert "test_marker_tightens" in out
    assert "atol=1e-12, rtol=1e-09" in out
    result.stdout.fnmatch_lines(["*gradient check report:*", "*undefined here (log of a negative"
                                 " number in *"])
    # the traceback points at the user's call, not into symbackprop
    assert "symbackprop/check/" not in out


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.gradcheck(eps=1e-6, atol=1e-5, rtol=1e-3*"])


def test_marker_with_bad_arguments_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad='''
import pytest

@pytest.mark.gradcheck(0.1, tolerance=3)
def test_it(gradcheck):
    pass
''')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.gradcheck takes keywords only*"])
