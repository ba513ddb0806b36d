"""The general step of a recurrence, found in the printed backward equations: lines that
three or more numbered steps share once their step numbers are written relative to t, and sums
over the steps (backpropagation through time, or Nielsen's BP1–BP4 through the layers)."""

from __future__ import annotations

import re

_STEP = re.compile(r"\^\{\((\d+)\)")  # a numbered name's superscript: h3 -> h^{(3)}


def _relative(tex: str, base: int) -> str:
    """Step numbers written relative to ``t = base``: ``h^{(3)}`` -> ``h^{(t-1)}`` at 4."""
    def one(m: re.Match[str]) -> str:
        k = int(m.group(1)) - base
        return "^{(t" + ("" if k == 0 else f"+{k}" if k > 0 else f"{k}") + ")"
    return _STEP.sub(one, tex)


def _top_level_terms(tex: str) -> list[str]:
    """``a + b + c`` split at the plus signs outside every bracket and brace."""
    terms, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        if tex.startswith((r"\left", "{"), i):
            depth += 1
        elif tex.startswith((r"\right", "}"), i):
            depth -= 1
        elif depth == 0 and tex.startswith(" + ", i):
            terms.append(tex[start:i])
            start = i + 3
            i += 3
            continue
        i += 1
    return [*terms, tex[start:]]


def _steps(ks: list[int]) -> str:
    return rf"t = {ks[0]}, \dots, {ks[-1]}" if len(ks) > 2 else f"t = {ks[0]}, {ks[-1]}"


def general_lines(backward: list[str]) -> list[str]:
    r"""The general step of a recurrence: backward equations that three or more numbered
    steps share once their numbers are written relative to t (``δ⁽ᵗ⁾ = ∂L/∂h⁽ᵗ⁾ ⊙ …``,
    ``∂L/∂h⁽ᵗ⁻¹⁾ = W_hᵀ δ⁽ᵗ⁾``), and a sum over the steps as ``\sum_t`` (``∂L/∂W_h =
    Σ_t δ⁽ᵗ⁾ h⁽ᵗ⁻¹⁾ᵀ``): backpropagation through time, or through the layers, written once."""
    groups: dict[str, list[int]] = {}
    sums: list[str] = []
    for line in backward:
        for eq in line.split(r", \qquad "):  # equations of one step share a line
            eq = eq if "&=" in eq else eq.replace(" = ", " &= ", 1)
            lhs, _, rhs = eq.partition("&=")
            at = [int(k) for k in _STEP.findall(lhs)]
            if at:
                groups.setdefault(_relative(eq, at[0]), []).append(at[0])
                continue
            terms = _top_level_terms(rhs.strip())
            steps = [[int(k) for k in _STEP.findall(t)] for t in terms]
            if len(terms) < 3 or not all(steps):
                continue
            bases = [max(k) for k in steps]
            shapes = {_relative(t, b) for t, b in zip(terms, bases, strict=True)}
            if len(shapes) == 1 and bases == list(range(bases[0], bases[0] + len(bases))):
                sums.append(rf"{lhs}&= \sum_{{t={bases[0]}}}^{{{bases[-1]}}} {shapes.pop()}")
    return [rf"{eq} \quad ({_steps(ks)})" for eq, ks in groups.items() if len(ks) >= 3] + sums
