"""Library-spelled code against NumPy itself: random NumPy programs, read as text and as a
traced Python function, must give NumPy's value and a gradient that central differences
confirm, or be refused with a typed error. Never a different number.

Every silent wrong number of the last held-out rounds (U6, R5) was in text that uses
NumPy's spelling, where NumPy's 1-D arrays, 0-d scalars and one-entry values must be read
as NumPy holds them; the differential fuzzer (test_differential.py) draws programs in the
text's own language and never met them. Here the oracle is NumPy evaluating the very same
code (test-generated strings, never a user's), so the generator only has to keep what
NumPy accepts: a step NumPy refuses, or whose value is not finite, is drawn again.

Budget: ``SYMBACKPROP_NUMPY_FUZZ`` programs (default 150, derandomized: the same programs
on every run; about 30 s) and ``SYMBACKPROP_FUZZ_SEED`` for another sample. A refusal is
counted, not failed: the text refuses what it cannot read as NumPy does, by design.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, seed, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop.check import Engine

BUDGET = int(os.environ.get("SYMBACKPROP_NUMPY_FUZZ", "150"))
SEED = os.environ.get("SYMBACKPROP_FUZZ_SEED")
REFUSED = (sbp.ShapeError, sbp.UnsupportedError, sbp.ParseError)

# NumPy's shapes, one-entry ones among them: 0-d, 1-D (1,), 2-D (1, 1), rows and columns
INPUT_SHAPES: list[tuple[int, ...]] = [(), (1,), (2,), (3,), (1, 1), (2, 1), (3, 1), (1, 3),
                                       (1, 2), (2, 3), (3, 2), (3, 3)]
NAMES = ("A", "B", "x")

UNARY = [
    "np.sin({0})", "np.tanh({0})", "({0}) ** 2", "-{0}", "np.negative({0})", "np.abs({0})",
    "np.exp(np.sin({0}))", "2.5 * {0}", "{0} - 0.5",
    "np.sum({0})", "np.sum({0}, axis=0)", "np.sum({0}, axis=1)", "np.mean({0}, axis=0)",
    "np.sum({0}, axis=0, keepdims=True)", "np.sum({0}, keepdims=True)", "np.max({0}, axis=-1)",
    "np.prod({0}, axis=0)", "np.mean({0})",
    "{0}.T", "{0}[0]", "{0}[-1]", "{0}[1:]", "{0}[::-1]", "{0}[:, 0]", "{0}[0, 0]",
    "{0}[:, 1:]", "{0}[None, :]", "{0}[:, None]",
    "np.cumsum({0})", "np.cumsum({0}, axis=0)", "np.cumprod({0}, axis=-1)", "np.flip({0})",
    "np.flip({0}, axis=0)", "np.ravel({0})", "{0}.reshape(-1, 1)", "{0}.reshape(1, -1)",
    "np.squeeze({0})", "np.diag({0})", "np.pad({0}, 1)", "np.repeat({0}, 2)",
    "np.tile({0}, 2)", "np.linalg.norm({0})", "np.linalg.norm({0}, 1)",
    "np.linalg.norm({0}, np.inf)", "np.atleast_2d({0})",
    # more ways to make a value of one entry, whose NumPy rank the text must track
    "{0}.T @ {0}", "{0} @ {0}.T", "np.sum({0}, axis=1, keepdims=True)", "{0}[0:1]",
    "{0}[0][1:]", "np.transpose({0})", "np.trace({0})", "np.mean({0}, axis=1)",
]
BINARY = [
    "{0} + {1}", "{0} - {1}", "{0} * {1}", "{0} / (2.0 + np.sin({1}))", "{0} @ {1}",
    "np.dot({0}, {1})", "np.inner({0}, {1})", "np.outer({0}, {1})", "np.vdot({0}, {1})",
    "np.matmul({0}, {1})", "np.maximum({0}, {1})", "np.minimum({0}, {1})",
    "np.concatenate(({0}, {1}))", "np.concatenate(({0}, {1}), axis=1)",
    "np.stack(({0}, {1}))", "np.hstack(({0}, {1}))", "np.vstack(({0}, {1}))",
    "np.kron({0}, {1})", "np.where({0} > 0, {0}, {1})",
]


def _numpy(code: str, values: dict[str, Any]) -> Any:
    with np.errstate(all="raise"):
        return eval(code, {"np": np}, dict(values))  # the test's own strings


@st.composite
def numpy_programs(draw: st.DrawFn) -> tuple[dict[str, tuple[int, ...]], dict[str, Any], str]:
    """Inputs of NumPy shapes, 1 to 5 steps that NumPy accepts, summed under a sine."""
    shapes = {n: draw(st.sampled_from(INPUT_SHAPES)) for n in NAMES[:draw(st.integers(1, 3))]}
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values: dict[str, Any] = {}
    for n, s in shapes.items():
        v = rng.uniform(0.3, 1.3, s) * rng.choice([-1.0, 1.0], s)
        values[n] = float(v) if s == () else v
    pool = dict.fromkeys(shapes, True)  # each value's code: whether it has no zero entry
    for _ in range(draw(st.integers(1, 5))):
        for _ in range(12):  # a step NumPy refuses is drawn again
            unary = draw(st.booleans())
            template = draw(st.sampled_from(UNARY if unary else BINARY))
            operands = [draw(st.sampled_from(list(pool))) for _ in range(1 if unary else 2)]
            if "prod(" in template and not pool[operands[0]]:
                continue  # the slope of a product at a zero is 0/0 (documented: NaN)
            code = template.format(*operands)
            try:
                v = np.asarray(_numpy(code, values))
            except Exception:  # whatever NumPy refuses
                continue
            if v.ndim <= 2 and 0 < v.size <= 36 and np.all(np.isfinite(v)) \
                    and np.issubdtype(v.dtype, np.floating):
                pool[f"({code})"] = bool(np.all(v != 0))
                break
    last = list(pool)[-1]
    used = {n: s for n, s in shapes.items() if re.search(rf"\b{n}\b", last)}
    return used, {n: values[n] for n in used}, f"np.sum(np.sin({last}))"


def _differences(code: str, values: dict[str, Any], h: float) -> dict[str, np.ndarray]:
    out = {}
    for n, v in values.items():
        base = np.array(v, dtype=float)
        g = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[i] += h
            minus[i] -= h
            g[i] = (float(_numpy(code, {**values, n: plus})) -
                    float(_numpy(code, {**values, n: minus}))) / (2 * h)
        out[n] = g
    return out


def _settings(f: Any) -> Any:
    f = settings(max_examples=BUDGET, deadline=None, derandomize=SEED is None,
                 suppress_health_check=list(HealthCheck))(f)
    return seed(int(SEED))(f) if SEED is not None else f


@pytest.mark.parametrize("reading", ["text", "traced"])
@_settings
@given(prog=numpy_programs())
def test_numpy_code_is_numpys_or_refused(reading: str, prog: Any) -> None:
    shapes, values, code = prog
    assume(shapes)
    want = float(_numpy(code, values))
    fine, coarse = _differences(code, values, 1e-6), _differences(code, values, 1e-4)
    for n in values:  # a kink or a tie nearby (abs, max, where): the point tells nothing
        assume(np.allclose(fine[n], coarse[n], rtol=1e-4, atol=1e-6))
    source: Any = code if reading == "text" else \
        eval(f"lambda {', '.join(shapes)}: {code}", {"np": np})
    try:
        d = sbp.derive(source, shapes=shapes)
    except REFUSED as e:
        event(f"refused: {type(e).__name__}")
        return
    event("compared")
    where = f"{reading}: {code} with {shapes} at {values}"
    got = float(np.asarray(Engine(d).value(values)).ravel()[0])
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12), where
    grads = d.evaluate(values)
    for n, v in values.items():
        g = np.reshape(grads[n], np.shape(v)) if n in grads else np.zeros(np.shape(v))
        np.testing.assert_allclose(g, fine[n], rtol=1e-5, atol=1e-6, err_msg=where)
