"""``gradcheck(f, inputs, grad=None)``: a gradient checked against the numbers, as
``torch.autograd.gradcheck`` does, for text, a SymPy expression, a Python function or a
derivation (``from_torch``'s adds torch.autograd as a witness)."""

from __future__ import annotations

import contextlib
import copy
import functools
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp

from ..builder import check_name
from ..derive import Derivation, derive
from ..errors import (
    GradcheckError,
    OptionError,
    ShapeError,
    UncheckedGradientWarning,
    UnsupportedError,
)
from ..parse import parse
from ..programs import compile_expr
from ..shapes import fmt_shape, shape_of, to_shape
from ..torch_bridge import TorchDerivation
from ..values import values_by_name
from .compare import _other, _report, check
from .engine import ATOL, EPS, MAX_COORDS, RTOL, Engine, Tolerances
from .report import CheckReport, _digits, _join
from .witness import witness


def gradcheck(f: Any, inputs: Mapping[str, Any], grad: Any = None, *, eps: float = EPS,
              atol: float = ATOL, rtol: float = RTOL, seed: int = 0,
              max_coords: int = MAX_COORDS, raise_exception: bool = True,
              wrt: Sequence[str] | str | None = None) -> bool:
    """True when the gradient agrees with the numbers; else raise ``GradcheckError`` (or, with
    ``raise_exception=False`` as in ``torch.autograd.gradcheck``, return False; a gradient
    of the wrong shape too, else a ``ShapeError``).

    ``f``: a SymPy expression, text, or a plain Python function of scalars/arrays (traced with
    SymPy symbols), each derived with respect to every input; or a ``Derivation``, checked
    as it is (its ``wrt``). ``inputs``: ``{name: value}`` (every input of ``f``). ``grad``:
    None (check symbackprop's own derivation), a callable ``grad(**inputs) -> {name:
    array}``, or a dict ``{name: expression or text}``. ``wrt``: the inputs whose gradients
    are checked (default: every input; a derivation's own ``wrt``; for ``from_torch``'s, the
    module's keys or our names); the others are constants (data), as PyTorch's inputs that
    do not require grad, and a gradient ``grad`` gives for one is not read. A name of
    ``wrt``, or a parameter of ``from_torch``'s derivation, that ``grad`` leaves out is a
    claim that its gradient is 0 (PyTorch's ``None``), checked as such: a backward that
    forgets a parameter fails. Otherwise, without ``wrt``, only the names ``grad`` returns
    are checked, and an input it leaves out whose gradient is not 0 is named in an
    ``UncheckedGradientWarning``. An exception raised by ``grad``, or by a
    Python ``f`` at the numbers, is a failed check: a ``GradcheckError`` naming it (chained
    as its ``__cause__``), or False. (A Python ``f`` that raises while it is traced with
    SymPy symbols has nothing to check: its exception propagates, as from ``derive``.)

    From PyTorch: ``f = sbp.from_torch(model, x, loss=...)``; then ``inputs`` and the names
    and arrays (or tensors) ``grad`` returns are the module's keys in PyTorch's shapes, as
    ``p.grad``, and torch.autograd on the module is a witness beside the engine and finite
    differences — a hand-written ``backward`` is checked against all three.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    d, values, names = _derivation(f, inputs, wrt)
    tol = Tolerances(eps, atol, rtol, seed, max_coords)
    if d.is_jacobian and grad is not None:
        raise UnsupportedError(f"gradcheck checks a gradient of a scalar function, and the "
                               f"value of f is {fmt_shape(shape_of(d.output))}: give grad "
                               "for a scalar of it, such as sum(G ⊙ f)")
    if grad is None:  # a vector-valued f: the gradient of ⟨G, f⟩ at a random G, as d.check()
        checker = d.check if d.is_jacobian else functools.partial(check, d)
        report = checker(values, seed, eps=eps, atol=atol, rtol=rtol, max_coords=max_coords)
        report = replace(report, rows=tuple(r for r in report.rows if r.name in names))
        label = "symbackprop's derivation"
    else:
        try:
            user = _user_gradient(d, grad, values, inputs, names)
        except ShapeError:  # a gradient of the wrong shape is a wrong gradient
            if raise_exception:
                raise
            return False
        except _GradRaised as e:  # the user's grad raised: a failed check, never an escape
            if not raise_exception:
                return False
            raise GradcheckError(str(e)) from e.__cause__
        missing = [n for n in names if n not in user]
        if wrt is not None or isinstance(d, TorchDerivation):  # named (a module's
            # parameters, as PyTorch's requires_grad): a gradient left out is 0, as its None
            user.update((n, np.zeros(np.shape(values[n]))) for n in missing)
        elif missing:
            _warn_unchecked(d, values, missing)
            missing = []
        engine = Engine(d, wrt=list(user))
        slots = engine.bind(values, np.float64)
        issues = engine.diagnose(list(slots))
        subjects: dict[str, Any] = {"yours": user}
        for name, gradients in d.analytic_witnesses():  # torch.autograd for from_torch
            subjects[name] = _other(gradients, values)
        report = _report(engine, slots, values, subjects, issues, tol, witness(d))
        label = "your gradient"
    if report.ok:
        return True
    if not raise_exception:
        return False
    message = _failure_message(report, label)
    if grad is not None and missing:
        message += (f"\nyour grad gives no gradient for {_join(missing)}: read as 0, as "
                    "PyTorch reads a None gradient (pass wrt=[...] to check only some "
                    "inputs, the others held constant)")
    if isinstance(d, TorchDerivation):
        message += "\nthe module's keys: " + ", ".join(
            f"{n} is {k.key}" for n, k in d.keys.items() if n != k.key)
    raise GradcheckError(message, report.rows)


def _warn_unchecked(d: Derivation, values: Mapping[str, Any], missing: list[str]) -> None:
    """Inputs ``grad`` gives no gradient for, without ``wrt=`` to say which are data: those
    whose gradient at the point is not 0 are named in a warning (a backward that forgot the
    bias would otherwise pass in silence)."""
    engine = Engine(d, wrt=missing)
    with np.errstate(all="ignore"):
        grads = engine.gradients(values, np.float64)
    moving = {n: float(np.max(np.abs(grads[n]), initial=0.0)) for n in missing}
    moving = {n: v for n, v in moving.items() if v != 0.0}
    if moving:
        warnings.warn(
            f"gradcheck: your grad gives no gradient for {_join(list(moving))}, whose "
            f"gradient here is not 0 (largest entry "
            f"{', '.join(f'{n}: {v:.3g}' for n, v in moving.items())}); only the names it "
            "returns were checked. Pass wrt=[...] to name the inputs to check (a name "
            "left out of grad is then read as 0, as PyTorch reads a None gradient)",
            UncheckedGradientWarning, stacklevel=3)


def _derivation(f: Any, inputs: Mapping[Any, Any], wrt: Sequence[str] | str | None = None
                ) -> tuple[Derivation, dict[str, Any], list[str]]:
    """The derivation to check, the values in its terms (copies: nothing of the caller's
    moves) and the names checked, ours: ``f`` itself when it is one (``wrt`` a part of its
    own; for from_torch's, the module's keys or ours), else ``f`` derived with respect to
    ``wrt`` (default every input)."""
    torch = sys.modules.get("torch")  # a module was given only if torch is imported
    if torch is not None and isinstance(f, torch.nn.Module):
        raise TypeError("gradcheck takes a PyTorch module through its derivation: "
                        "gradcheck(sbp.from_torch(module, example_inputs, loss=...), values)")
    if not isinstance(inputs, Mapping) or not inputs:
        raise TypeError("gradcheck(f, inputs): inputs maps every input of f to its value "
                        f"({{'x': 0.5, 'W': array}}), not {inputs!r:.60}")
    by_name = values_by_name(inputs)
    if isinstance(f, TorchDerivation):
        by_name = f.to_ours(by_name)
    values = {k: _copy(v) for k, v in by_name.items()}
    if isinstance(f, Derivation):
        own = [str(v.name) for v in f.wrt]
        if wrt is None:
            return f, values, own
        asked = [wrt] if isinstance(wrt, str) else list(wrt)
        if isinstance(f, TorchDerivation):  # the module's keys, as grad's ("0.weight")
            asked = [_our_name(f, n) for n in asked]
        other = [n for n in asked if n not in own]
        if other:
            raise OptionError(f"wrt names {_join(other)}: not among the derivation's own "
                              f"wrt ({_join(own)})", tuple(own))
        return f, values, asked
    shapes = None if isinstance(f, sp.Basic) else {
        check_name(k, "a name of inputs"): _value_shape(k, v, callable(f))  # (not "a shape")
        for k, v in values.items()}
    d = derive(f, wrt=wrt, shapes=shapes)
    read = {str(v.name) for v in d.inputs}
    cancelled = [k for k in values if k not in read]
    if wrt is None and cancelled:  # an input SymPy cancelled ((a − a)² + b) is still one
        # of f's, its gradient 0 as PyTorch's; a name f never reads stays refused below
        with contextlib.suppress(OptionError):
            d = derive(f, wrt=[*(str(v.name) for v in d.wrt), *cancelled], shapes=shapes)
    return d, values, [str(v.name) for v in d.wrt]


def _our_name(d: TorchDerivation, name: str) -> str:
    """Our name of a module key (``0.weight`` is W1); a name of ours stays as it is."""
    return next((n for n, k in d.keys.items() if k.key == name), name)


def _copy(v: Any) -> Any:
    """A copy of a value: a tensor one computed (``p.double()``, which deepcopy refuses) as a
    leaf of its own, that still requires a gradient if it did."""
    detach = getattr(v, "detach", None)
    if callable(detach) and hasattr(v, "requires_grad_"):
        return detach().clone().requires_grad_(bool(v.requires_grad))
    return copy.deepcopy(v)


def _value_shape(name: str, v: Any, numpy: bool = False) -> Any:
    """The shape of a value: NumPy's own for a traced function (``(3,)`` and ``(3, 1)`` are
    different arrays there); for text, a 1-D value is declared ``(n,)`` (the column, read
    as NumPy's 1-D array where the text uses a library's call, as the value is)."""
    a = np.asarray(v)
    if a.ndim > 2 and numpy:
        raise ShapeError(f"{name} has {a.ndim} dimensions; a traced NumPy function takes "
                         "scalars, vectors and matrices (write f as text for tensors)")
    if (numpy and a.ndim) or a.ndim > 2 or (a.ndim == 1 and a.shape[0] != 1):
        return tuple(a.shape)  # (a tensor as text: its own axes)
    return to_shape(name, a.shape) if a.ndim else None


def _user_gradient(d: Derivation, grad: Any, values: Mapping[str, Any],
                   inputs: Mapping[Any, Any], names: Sequence[str]) -> dict[str, Any]:
    """The user's gradients by our names, in our shapes; ``inputs`` as the caller gave them
    (a module's keys for ``from_torch``'s derivation); ``names``: those checked."""
    if callable(grad):  # on copies: a callback that writes into its arguments moves nothing
        given = values_by_name(inputs) if isinstance(d, TorchDerivation) else values
        args = {k: _copy(v) for k, v in given.items()}
        try:
            out = grad(**args)
        except Exception as e:  # the user's function may raise anything: the check fails
            raise _GradRaised(
                f"gradcheck failed: your grad(**inputs) raised {type(e).__name__}: "
                f"{str(e).strip()[:200] or '(no message)'} (at "
                f"{', '.join(f'{k}={_brief(v)}' for k, v in args.items())[:200]})") from e
        if not isinstance(out, Mapping):  # what it returned is wrong: the check fails
            raise _GradRaised(f"gradcheck failed: your grad(**inputs) returned a "
                              f"{type(out).__name__}, not a dict {{name: array}}")
        out = _by_name(out)
        for k, v in out.items():
            if type(v).__module__.split(".")[0] == "torch":  # p.grad: read as PyTorch's
                continue
            try:
                a = np.asarray(v)
                bad = np.iscomplexobj(a) or a.dtype.kind not in "biuf"
            except (TypeError, ValueError):
                bad = True
            if bad:
                raise _GradRaised(f"gradcheck failed: your grad(**inputs) returned "
                                  f"{k}={_brief(v)[:60]}, not real numbers")
        _same_shapes(out, given)
    elif isinstance(grad, Mapping):
        out = {k: _evaluate_expr(k, e, d, values) for k, e in _by_name(grad).items()}
    else:
        raise TypeError(f"grad must be a callable or a dict, not {type(grad).__name__}")
    if isinstance(d, TorchDerivation):  # the module's keys and PyTorch's shapes, as p.grad
        out = d.to_ours(out, complete=False)
    inputs_of_f = {str(s.name) for s in d.inputs}
    unknown = [k for k in out if k not in names and k not in inputs_of_f]
    out = {k: v for k, v in out.items() if k in names}  # an input held constant: as PyTorch,
    # a gradient for one that does not require grad is not read
    if unknown:
        raise OptionError(f"grad names {', '.join(unknown)}: not an input of f that is "
                          f"differentiated (wrt: {', '.join(names)})", tuple(names))
    return out


class _GradRaised(Exception):
    """The user's ``grad`` callable raised (the original is ``__cause__``): ``gradcheck``
    turns it into a failed check, a ``GradcheckError`` or False."""


def _brief(v: Any) -> str:
    """A value in a message: a number as itself, an array by its shape."""
    shape = np.shape(v)
    return f"array of shape {shape}" if shape else f"{v!r:.20}"


def _by_name(grad: Mapping[Any, Any]) -> dict[str, Any]:
    """The gradients by name; a name given twice (as text and as a SymPy symbol) is an
    error, never a silent choice of one of them (the other would go unchecked)."""
    out: dict[str, Any] = {}
    for k, v in grad.items():
        name = str(getattr(k, "name", k))
        if name in out:
            raise OptionError(f"grad gives {name} twice (as {name!r} and as a symbol)")
        out[name] = v
    return out


def _same_shapes(out: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """A callback's gradient has its input's shape exactly, as ``torch.autograd.gradcheck``
    asks: a (3, 1) gradient of a (3,) array would broadcast the update ``w - lr * g`` into a
    3×3 matrix, so it is wrong even though its numbers are right. (A gradient written as text
    or SymPy is evaluated in our shapes; its shape is not the user's to get wrong.)"""
    for k, g in out.items():
        if k not in given:
            continue  # an unknown name: named by the caller's check
        want, got = tuple(np.shape(given[k])), tuple(np.shape(g))
        if got != want:
            raise ShapeError(f"your gradient of {k} has shape {got}, expected {want} (the shape "
                             f"of {k} as given: a gradient has its input's shape exactly)")


def _evaluate_expr(name: Any, e: Any, d: Derivation, values: Mapping[str, Any]) -> Any:
    """A gradient written as text or a SymPy expression, evaluated at the values."""
    shapes = {str(s.name): shape_of(s) for s in d.inputs}
    if isinstance(e, str):
        expr = parse(e, shapes=shapes)  # scalars too: an input named pi is not π
    elif isinstance(e, sp.Basic):
        expr = e
    else:  # a number or an array: taken as the value itself
        return e
    env: dict[sp.Basic, Any] = {}
    for s in expr.free_symbols | {a for a in expr.atoms(sp.MatrixSymbol)}:
        key = str(getattr(s, "name", s))
        if key not in values:
            raise OptionError(f"the gradient given for {name} uses {key}, which has no value "
                              "in inputs")
        v = np.asarray(values[key], dtype=float)
        env[s] = v.reshape(-1, 1) if v.ndim == 1 else (float(v) if v.ndim == 0 else v)
    with np.errstate(all="ignore"):
        return compile_expr(expr)(env)


def _failure_message(report: CheckReport, label: str) -> str:
    bad = [r for r in report.rows if not r.ok]
    verb = "could not confirm" if report.verdict == "NOT CONFIRMED" else "failed for"
    lines = [f"gradcheck {verb} {_join([r.name for r in bad]) if bad else 'the inputs'} "
             f"({label} vs {', '.join(w for w in report.witnesses if w != 'yours')}; "
             f"eps={report.eps:g}, atol={report.atol:g}, rtol={report.rtol:g})"]
    lines += list(report.failures)
    lines.append(report.table(bad))
    head = ("parameter", "index", *report.witnesses)
    body = [(r.name, m.index, *(v for _, v in _digits(m.values))) for r in bad for m in r.worst]
    if body:
        widths = [max(len(x[i]) for x in (head, *body)) for i in range(len(head))]
        lines.append("")
        lines += ["  ".join(c.ljust(w) for c, w in zip(x, widths, strict=True)).rstrip()
                  for x in (head, *body)]
    lines += list(report.notes)
    return "\n".join(lines)

