"""Which nodes become equations and what they are called (grouping.py), asserted where the
mutation run found it untested (issue 20 part 10): scaled terms of a sum, shared nodes,
products of products, the penalty stage R, the fresh-name pool and the softmax p."""

from __future__ import annotations

import pytest

import symbackprop as sbp

SH = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1), "y": (2, 1),
      "W": (3, 3), "b": (3, 1), "A": (3, 3), "x2": (4, 1)}
NET_MSE = "mse(W2@sigmoid(W1@x + b1) + b2, y)"
NET_EQS = [("z", "W1*x + b1"), ("h", "sigmoid(z)"), ("o", "W2*h + b2")]


def forward(text: str, **kw: object) -> list[tuple[str, str]]:
    d = sbp.derive(text, shapes=SH, **kw)  # type: ignore[arg-type]
    return [(str(e.lhs), str(e.rhs)) for e in d.forward]


def test_a_number_times_an_input_stays_a_term_of_its_sum() -> None:
    # scalar text is cut at every primitive, except c·v read as a term of the sum it feeds
    assert forward("a**3 - 2*a*c + 3*c - 1") == [
        ("t_1", "a**3"), ("t_2", "2*a*c"), ("z", "3*c + t_1 - t_2 - 1")]
    assert forward("a*c + sin(a)") == [("t_1", "a*c"), ("t_2", "sin(a)"), ("z", "t_1 + t_2")]


def test_a_node_used_twice_is_an_equation_of_its_own() -> None:
    assert forward("sum(W.T@W@W.T@W)") == [
        ("t_1", "W.T"), ("t_2", "t_1*W"), ("t_3", "t_2*t_1"), ("t_4", "t_3*W"),
        ("L", "sumall(t_4)")]
    # a shared activation is one equation; its pre-activation, used once, is inlined
    assert forward("sum(hadamard(sigmoid(W@x + b), sigmoid(W@x + b)))") == [
        ("h", "sigmoid(W*x + b)"), ("t", "HadamardProduct(h, h)"), ("L", "sumall(t)")]


def test_a_product_of_products_is_cut() -> None:
    assert forward("sum(A@A@x)") == [("t_1", "A*A"), ("t_2", "t_1*x"), ("L", "sumall(t_2)")]


@pytest.mark.parametrize(("penalty", "stage"), [
    ("lam/2*sqnorm(W1)", ("R", "lam*sqnorm(W1)/2")),
    ("sqnorm(W1)", ("R", "sqnorm(W1)")),
    ("sum(b1)", ("R", "sumall(b1)")),
    ("lam/2*sqnorm(W1) + lam/2*sqnorm(W2)", ("R", "lam*sqnorm(W1)/2 + lam*sqnorm(W2)/2")),
    ("R*sqnorm(W1)", ("Omega", "R*sqnorm(W1)")),  # the user's names are never taken
    ("R*Omega*r*sqnorm(W1)", ("penalty", "Omega*R*r*sqnorm(W1)")),
])
def test_a_penalty_on_the_parameters_is_a_stage_of_its_own(penalty: str,
                                                             stage: tuple[str, str]) -> None:
    assert forward(f"{NET_MSE} + {penalty}") == [
        *NET_EQS, stage, ("L", f"{stage[0]} + mse(o, y)")]


def test_a_penalty_without_a_free_name_stays_in_the_loss() -> None:
    assert forward(f"{NET_MSE} + R*Omega*r*penalty*sqnorm(W1)") == [
        *NET_EQS, ("L", "Omega*R*penalty*r*sqnorm(W1) + mse(o, y)")]
    # a term that reads a stage is no penalty
    assert forward(f"{NET_MSE} + lam*sum(hadamard(W1, W1))") == [
        *NET_EQS, ("t", "HadamardProduct(W1, W1)"), ("L", "lam*sumall(t) + mse(o, y)")]


def test_the_chain_rule_shows_the_penalty_as_its_own_path() -> None:
    tex = sbp.derive(f"{NET_MSE} + lam/2*sqnorm(W1)", shapes=SH, wrt="W1").latex(
        sections="chain")
    assert (r" + \left(\nabla_{\mathbf{W}^{(1)}} R\right)\left(\nabla_{R} L\right), \quad "
            ) in tex


def test_fresh_names_avoid_the_users_names() -> None:
    assert forward("t*v + sin(t*v)") == [("u_1", "t*v"), ("u_2", "sin(u_1)"),
                                         ("z", "u_1 + u_2")]
    assert forward("t*v*u + sin(t*v*u)") == [("s_1", "t*u*v"), ("s_2", "sin(s_1)"),
                                             ("z", "s_1 + s_2")]


def test_a_softmax_is_called_p() -> None:
    assert forward("sum(hadamard(y, log(softmax(W2@x2))))") == [
        ("t_1", "W2*x2"), ("p", "softmax(t_1)"), ("h", "log(p)"),
        ("t_2", "HadamardProduct(y, h)"), ("L", "sumall(t_2)")]


def test_nested_functions_stay_apart_and_sums_and_products_merge() -> None:
    assert forward("sqrt(sqrt(a))") == [("t", "sqrt(a)"), ("z", "sqrt(t)")]
    assert forward("sin(sin(a))") == [("t", "sin(a)"), ("z", "sin(t)")]


def test_a_quadratic_form_stays_whole_a_longer_product_is_cut() -> None:
    assert forward("x.T@A@x") == [("L", "x.T*A*x")]
    assert forward("x.T@A@A@x") == [("t", "x.T*A"), ("L", "t*A*x")]
    assert forward("x.T@A@W.T@W@x") == [("t_1", "x.T*A"), ("t_2", "t_1*W.T"), ("L", "t_2*W*x")]


def test_a_product_with_a_penalty_factor_is_no_penalty_stage() -> None:
    assert forward(f"lam*sqnorm(W1)*{NET_MSE}") == [
        *NET_EQS, ("L", "lam*mse(o, y)*sqnorm(W1)")]


def test_an_output_name_is_not_given_to_a_layer() -> None:
    net = "W2@sigmoid(W1@x + b1) + b2"
    assert forward(net, loss="mse", output="h") == [
        ("z", "W1*x + b1"), ("t", "sigmoid(z)"), ("o", "W2*t + b2"), ("h", "mse(o, y)")]
    assert forward(net, loss="mse", output="z") == [
        ("t", "W1*x + b1"), ("h", "sigmoid(t)"), ("o", "W2*h + b2"), ("z", "mse(o, y)")]


def test_with_every_base_taken_fresh_names_are_numbered_t() -> None:
    assert forward("t*v*u*s*w + sin(t*v*u*s*w)") == [
        ("t_1", "s*t*u*v*w"), ("t_2", "sin(t_1)"), ("z", "t_1 + t_2")]


def test_the_penalty_stage_is_apart_from_every_name_the_user_writes() -> None:
    # its own symbol is private; the user's scalar XX_R stays a term of the loss
    assert forward(f"{NET_MSE} + lam/2*sqnorm(W1) + XX_R") == [
        *NET_EQS, ("R", "lam*sqnorm(W1)/2"), ("L", "R + XX_R + mse(o, y)")]


@pytest.mark.parametrize(("text", "equations"), [
    # a matrix reduction inside a sum or a product stays whole in one stage ...
    ("sum(A + W) + c", [("L", "c + sumall(A + W)")]),
    ("c*sum(A + W)", [("L", "c*sumall(A + W)")]),
    # ... inside a function SymPy would simplify into it, its operand is named
    ("exp(sum(A + W))", [("t", "A + W"), ("L", "exp(sumall(t))")]),
])
def test_a_reduction_in_one_stage(text: str, equations: list[tuple[str, str]]) -> None:
    assert forward(text, granularity="stages") == equations


def test_an_output_name_that_cannot_be_given_is_an_error_not_ignored() -> None:
    """output= was dropped without a word when the text names its output or the name is
    taken (a held-out case: output="h" for a stage h)."""
    with pytest.raises(sbp.GraphError, match=r"output='J' cannot name the output: the text "
                                             r"names it 'L'"):
        sbp.derive("h = tanh(x); L = h**2", output="J")
    with pytest.raises(sbp.GraphError, match=r"'h' is already a name of the expression"):
        sbp.derive("h = tanh(x); h**2", output="h")
    assert [str(e.lhs) for e in sbp.derive("h = tanh(x); L = h**2", output="L").forward] == [
        "h", "L"]
    assert str(sbp.derive("h = tanh(x); h**2", output="J").output) == "J"
