"""The text front end leaves no trace in the process and counts its limits exactly."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import symbackprop as sbp

TEXTS = ["1x", "1if 2 else 3", "x + '\\q'", "2*x + y", "sigmoid(W@x)", "1e5*x - .5*y", "0x1for"]


def _parse_many(errors: list[BaseException]) -> None:
    for _ in range(30):
        for t in TEXTS:
            try:
                sbp.parse(t, shapes={"W": (2, 2), "x": (2, 1)} if "W" in t else None)
            except sbp.ParseError:
                pass
            except BaseException as e:  # anything else is a finding
                errors.append(e)


def test_parsing_in_threads_leaves_the_warning_filters_alone():
    before = list(warnings.filters)
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_parse_many, args=(errors,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert warnings.filters == before


@pytest.mark.parametrize(("text", "column"), [("x + '\\q'", 6), ("1if 2 else 3", 2),
                                              ("b = 2*x; 1and 2", 11)])
def test_what_python_only_warns_about_is_a_parse_error_with_its_column(text, column):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning reaches the caller either
        with pytest.raises(sbp.ParseError) as e:
            sbp.parse(text)
    assert e.value.column == column


@pytest.mark.parametrize(("text", "product"), [("1x", "x"), ("y = 2\nz = 3x", "3*x"),
                                               ("2pi", "2*pi"), ("1e5x", "1e5*x")])
def test_a_number_before_a_name_is_a_product_without_warnings(text, product):
    """Written as on paper (issue 12): 2x is 2·x; Python's tokenizer never sees 2x."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sbp.parse(text) == sbp.parse(product)


@pytest.mark.parametrize("text", ["1e5*x", "1.5*x", ".5*x", "3.e2*x", "1_000*x", "0x1F*x",
                                  "x1*2", "1e-3*x"])
def test_numbers_next_to_operators_still_parse(text):
    assert sbp.parse(text) is not None


@pytest.mark.parametrize("limit", [3, 10, 100])
@pytest.mark.parametrize("shape", ["sin({})", "-{}", "x**{}", "({})", "abs({})"])
def test_max_depth_lets_exactly_that_many_levels_through(limit, shape):
    def nest(k: int) -> str:
        t = "x"
        for _ in range(k):
            t = shape.format(t)
        return t

    lim = sbp.Limits(max_depth=limit)
    sbp.parse(nest(limit), limits=lim)
    sbp.parse("a = " + nest(limit), limits=lim)
    with pytest.raises(sbp.LimitError, match="max_depth"):
        sbp.parse(nest(limit + 1), limits=lim)


SH = {"W1": (3, 2), "x": (2, 1), "b1": (3, 1), "Q": (3, 2), "K": (3, 2)}


@pytest.mark.parametrize("text", ["sum(s*(W1@x) + b1)", "sum((W1@x)/8)", "S = Q@K.T/8; sum(S)",
                                  "S = Q@K.T/s; sum(tanh(S))", "sqnorm(s*(W1@x) - b1)"])
@pytest.mark.parametrize("granularity", ["auto", "primitive", "layers", "stages"])
def test_a_scalar_times_a_matrix_product_is_one_node(text, granularity):
    d = sbp.derive(text, shapes=SH, granularity=granularity)
    rng = np.random.default_rng(0)
    vals = {k: rng.normal(size=v) for k, v in SH.items()} | {"s": 0.7}
    assert d.check(vals).ok
    assert d.latex()
