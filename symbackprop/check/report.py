"""The check's report: a row per parameter, the witnesses, the tolerances, what failed."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One disagreeing entry: the index and each witness's value there."""

    index: str
    values: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class Row:
    """The verdict for one parameter."""

    name: str
    shape: tuple[int, ...] | None
    status: str  # ok | mismatch | unresolved | kink | formula | domain | nonfinite | unavailable
    max_abs_error: float
    max_rel_error: float
    disagree: tuple[str, ...] = ()  # the witnesses out of line with the others
    note: str = ""
    worst: tuple[Mismatch, ...] = ()
    checked: str = ""  # which coordinates the finite differences covered

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def verdict(self) -> str:
        if self.status == "ok":
            return "ok" + (f" ({self.note})" if self.note else "")
        head = {"mismatch": "MISMATCH", "unresolved": "not confirmed",
                "kink": "not differentiable here",
                "formula": "the printed formula is 0/0 here",
                "domain": "undefined here", "nonfinite": "input not finite",
                "unavailable": "not checked"}[self.status]
        who = f": {_join(self.disagree)} disagree{'s' * (len(self.disagree) == 1)}" \
            if self.disagree and self.status != "unresolved" else ""
        return f"{head}{who}" + (f" ({self.note})" if self.note else "")


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class CheckReport:
    """Three witnesses compared for every parameter; ``ok`` when every row agrees."""

    rows: tuple[Row, ...]
    witnesses: tuple[str, ...]
    eps: float
    atol: float
    rtol: float
    values: Mapping[str, Any] = field(repr=False)
    notes: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()  # what fails the whole check (the graph ≠ the source)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows) and not self.failures and not any(
            n.startswith("input") for n in self.notes)

    @property
    def max_abs_error(self) -> float:
        return max((r.max_abs_error for r in self.rows), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((r.max_rel_error for r in self.rows), default=0.0)

    @property
    def mismatches(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.status == "mismatch")

    def __getitem__(self, name: str) -> Row:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def verdict(self) -> str:
        """ok, FAILED, or NOT CONFIRMED when the only rows not ok are ones finite
        differences cannot resolve (the analytic witnesses agreeing)."""
        if self.ok:
            return "ok"
        if self.failures or any(r.status not in ("ok", "unresolved") for r in self.rows) \
                or not any(r.status == "unresolved" for r in self.rows):
            return "FAILED"
        return "NOT CONFIRMED"

    def __bool__(self) -> bool:
        return self.ok

    def table(self, rows: Sequence[Row] | None = None) -> str:
        rows = self.rows if rows is None else rows
        head = ("parameter", "shape", "max abs error", "max rel error", "verdict")
        body = [(r.name, "scalar" if r.shape is None else str(r.shape), _fmt(r.max_abs_error),
                 _fmt(r.max_rel_error), r.verdict) for r in rows]
        widths = [max(len(x[i]) for x in (head, *body)) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(line[:4], widths, strict=True))
                 + "  " + line[4] for line in (head, *body)]
        lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 7)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The report as an HTML table, for notebooks."""
        e = html.escape
        head = ("parameter", "shape", "max abs error", "max rel error", "verdict")
        rows = "".join(
            "<tr>" + "".join(f"<td>{e(c)}</td>" for c in (
                r.name, "scalar" if r.shape is None else str(r.shape), _fmt(r.max_abs_error),
                _fmt(r.max_rel_error), r.verdict)) + "</tr>" for r in self.rows)
        notes = "".join(f"<li>{e(n)}</li>" for n in (*self.failures, *self.notes))
        verdict = self.verdict
        return (f"<div class='sbp-check'><p><b>gradient check: {verdict}</b> — "
                f"{e(', '.join(self.witnesses))} (eps={self.eps:g}, atol={self.atol:g}, "
                f"rtol={self.rtol:g})</p><table><thead><tr>"
                + "".join(f"<th>{h}</th>" for h in head) + f"</tr></thead><tbody>{rows}"
                f"</tbody></table>" + (f"<ul>{notes}</ul>" if notes else "") + "</div>")

    def __str__(self) -> str:
        verdict = self.verdict
        lines = [f"gradient check: {verdict} — {', '.join(self.witnesses)} "
                 f"(eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g})", self.table()]
        partial_rows = [r for r in self.rows if r.checked]
        lines += [f"{r.name}: finite differences on {r.checked}" for r in partial_rows]
        for r in self.rows:
            if r.worst:
                lines.append(f"{r.name}: " + "; ".join(
                    f"[{m.index}] " + ", ".join(f"{w} {v}" for w, v in _digits(m.values))
                    for m in r.worst))
        lines += list(self.failures) + list(self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        bad = [r for r in self.rows if not r.ok]
        what = "ok" if self.ok else "; ".join(
            [*self.failures, *(f"{r.name}: {r.verdict}" for r in bad)]) or \
            "; ".join(self.notes)
        return (f"<CheckReport {what} — max abs error {_fmt(self.max_abs_error)}, "
                f"max rel error {_fmt(self.max_rel_error)}>")


def _digits(values: Sequence[tuple[str, float]]) -> list[tuple[str, str]]:
    """Values with as few digits as keep clearly different ones (by 1e-7) looking different."""
    vs = [v for _, v in values]
    apart = [(i, j) for i in range(len(vs)) for j in range(i) if not
             abs(vs[i] - vs[j]) <= 1e-7 * max(abs(vs[i]), abs(vs[j]))]
    for p in (6, 9, 12, 17):
        shown = [f"{v:.{p}g}" for v in vs]
        if all(shown[i] != shown[j] for i, j in apart):
            break
    return [(w, t) for (w, _), t in zip(values, shown, strict=True)]


def _fmt(x: float) -> str:
    if x != x:
        return "nan"
    return "0" if x == 0 else f"{x:.2g}"


# its public home (``symbackprop.check.CheckReport``), which the pytest plugin looks for
CheckReport.__module__ = "symbackprop.check"
