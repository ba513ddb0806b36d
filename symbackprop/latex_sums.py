"""LaTeX input's index sums: ``\\sum_i (y_i - \\hat{y}_i)^2``, ``\\sum_{i=1}^{n} w_i x_i``, the
names subscripted by the index read as the vectors, entry by entry, and what cannot be read
that way refused (the index as a number, two indices, a summand no index reaches, names
with nothing declared to size them). A part of the reader (``latex_calls.Calls`` builds
on it; the summand is read by the reader's own methods, declared here)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import ParseError
from .latex_lexer import Cursor, Piece, join_pieces
from .latex_sizes import dimension_names
from .rules import RULES

# what to write instead of an index sum that is not read entry by entry
VECTOR_FORM = (r"write it with vectors and matrices: \sum_i \log(1 + e^{-y_i \mathbf{w}^\top "
               r"\mathbf{x}_i}) is \mathbf{1}^\top \log(1 + e^{-\mathbf{y} \odot "
               r"\mathbf{X}\mathbf{w}}), \sum_i (y_i - \mathbf{w}^\top\mathbf{x}_i)^2 is "
               r"\|\mathbf{y} - \mathbf{X}\mathbf{w}\|^2, and \sum_k W_k^2 over the entries "
               r"of a matrix is \|\mathbf{W}\|_F^2")

# functions whose value is not entry by entry: refused inside an index sum (\sum_i)
NOT_ENTRYWISE = frozenset({n for n, r in RULES.items() if r.sympy is None} | {
    "std", "solve", "diag", "diagonal", "vec", "outer", "inner", "dot", "vdot", "matmul",
    "matrix_power", "cumsum", "cumprod", "flip", "log_softmax", "softmax", "trace", "det",
    "logdet", "inv", "norm", "mse_loss", "multiclass_hinge", "svm_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits"})


class Sums(Cursor):
    """Index sums; the summand is read by the reader's methods."""

    term: Callable[[int], Piece]
    factors: int  # how many factors the product (or term) read last had
    declared_shape: Callable[[str], Any]
    bounds: dict[str, str]  # a sum's bound letter, n in \sum_{i=1}^{n}: the length it is
    # the first sum bound by each such letter: where, as written, its index and vector
    bound_sites: dict[str, tuple[int, str, str, str]]

    def summation(self, end: int) -> Piece:
        r"""``\sum x``: the sum of x's entries; ``\sum A \odot B`` of the whole product term
        after it, up to the next + or − (``-\sum Y \odot \log P`` is −Σ(Y ⊙ log P)).
        ``\sum_i``, ``\sum_{i=1}^{n}``: index
        notation, the summand's names subscripted by i (``x_i``, ``\hat{y}_i``) read as the
        vectors, their products entry by entry, then summed: Σᵢ (yᵢ − ŷᵢ)² is
        sum((y − ŷ)**2), Σᵢ wᵢ xᵢ is sum(w ⊙ x). A summand that no index reaches is refused
        (Σᵢ c is n·c, not c)."""
        t = self.take()
        if self.texts(0) in (r"\limits", r"\nolimits"):  # \sum\limits_{i=1}^{n}: where TeX
            self.take()                                 # sets the bounds, nothing more
        index = ""
        lower = upper = None  # the bounds written, \sum_{i=1}^{n}
        if self.is_("_"):
            self.take()
            raw, at = self.script()
            index, eq, low = raw.replace(" ", "").strip("{}").partition("=")
            lower = low if eq else None
            if not re.fullmatch(r"[a-z]", index):
                raise self.error(at, f"\\sum_{{{raw}}}: the index of a sum is one letter "
                                 "(\\sum_i, \\sum_{i=1}^{n})")
        if self.is_("^"):
            self.take()
            upper = self.script()[0].replace(" ", "").strip("{}")
        if (lower is not None or upper is not None) and not index:
            raise self.error(t.at, f"\\sum^{{{upper}}}: bounds without an index are not read: "
                             "write \\sum x for the sum of all x's entries, or \\sum_{i=1}^{n} "
                             "x_i")
        # a sum without brackets runs over the whole product after it, up to the next + or
        # − at this level (Σ Y ⊙ log P is Σ(Y ⊙ log P)), within its own statement
        end = next((j for j in range(self.i, end) if self.toks[j].text == ";"), end)
        if not index:
            start = self.i
            body = self.term(end)
            if self.factors > 1:
                seen = self.seen(start)
                self.notes.append(f"'\\sum {seen}' read as the sum of the whole product "
                                  f"{seen}, up to the next + or − (bracket the sum to end "
                                  "it sooner: (\\sum …) …)")
            return join_pieces("sum(", body, ")", at=t.at)
        self.indices.append(index)
        before, self.indexed = self.indexed, 0
        first = self.i
        try:
            body = self.term(end)
            again = [k for k in range(first, self.i - 2) if self.toks[k].text == r"\sum"
                     and self.toks[k + 1].text == "_" and index in (
                         self.toks[k + 2].text, self.toks[k + 3].text
                         if self.toks[k + 2].text == "{" else "")]
            if again:  # \sum_i x_i \cdot \sum_i y_i: the first runs over the product
                raise self.error(self.toks[again[0]].at, f"\\sum_{index} inside the summand of "
                                 f"\\sum_{index}, which runs over the whole product after it "
                                 "(up to the next + or −): bracket each sum, (\\sum_"
                                 f"{index} x_{index})(\\sum_{index} y_{index})")
            if any(self.toks[k].text == r"\sum" for k in range(first, self.i)) or \
                    (not self.indexed and any(len(i) > 1 for i in self.subscripts(first))):
                raise self.error(t.at, f"\\sum_{index}: a sum over two indices (A_{{ij}}, "
                                 "\\sum_i \\sum_j) is not read: write it with matrices "
                                 "(\\mathbf{x}^\\top A \\mathbf{x}) or einsum in the text")
            if not self.indexed:
                raise self.error(t.at, f"\\sum_{index}: no name of the summand has the index "
                                 f"{index} (x_{index}); a sum of a constant is not read")
            self.index_as_value(t.at, index, body, first)
            if lower is not None or upper is not None:
                self.sum_bounds(t.at, index, lower, upper, body)
            self.undeclared_entries(body, index)
            self.some_vector(t.at, body, index)
        finally:
            self.indices.pop()
            self.indexed = before
        return join_pieces("sum(", (f"\0sum<{index}", t.at), body, ("\0sum>", t.at), ")",
                           at=t.at)

    def index_as_value(self, at: int, index: str, body: Piece, first: int) -> None:
        r"""The index of ``\sum_i`` as a number in its summand (``\sum_i i x_i``,
        ``\gamma^t r_t``, ``\frac{1}{i}``): not read (it would be a new input, or the
        declared i); nor an index repeated in one subscript (``x_{ii}``): refused."""
        for k, (frag, where) in enumerate(body):
            if not frag.startswith("\0") and (k == 0 or body[k - 1][0] not in (
                    "\0entry", "\0row")) and re.search(rf"(?<![\w.]){index}(?!\w)", frag):
                raise self.error(where, f"\\sum_{index}: the index {index} as a number in the "
                                 f"summand is not read (only as a subscript, x_{index}): write "
                                 f"the weights as a declared vector, \\sum_{index} w_{index} "
                                 f"x_{index}")
        if any(sub.count(index) > 1 for sub in self.subscripts(first)):
            raise self.error(at, f"\\sum_{index}: an index repeated in one subscript "
                             f"(x_{{{index}{index}}}, a diagonal) is not read: write "
                             "\\operatorname{tr}(\\mathbf{X}) or \\operatorname{diag}")

    def sum_bounds(self, at: int, index: str, lower: str | None, upper: str | None,
                   body: Piece) -> None:
        r"""``\sum_{i=1}^{n}``: bounds are read only as the whole range, 1..n or 0..n−1 with n
        the length of the summand's vectors (a number equal to it; the dimension's name when
        the shape is symbolic; another name, with a reading, when it is a number). Any other
        range (a part of the sum, or past its end) is a ``ParseError`` that says to write a
        slice: read as the whole sum it would be another function, silently."""
        written = f"\\sum_{{{index}" + (f"={lower}" if lower is not None else "") + "}" + (
            f"^{{{upper}}}" if upper is not None else "")
        length, owner = self.summand_length(body)
        if length is None:
            raise self.error(at, f"{written}: its bounds are read only against the length of "
                             f"a vector declared in shapes, and no {index}-indexed name of the "
                             f"summand is declared: declare it, or write \\sum_{index} for the "
                             "sum over every entry")
        dims = dimension_names(self.builder) if self.builder is not None else set()
        last = upper if upper is not None else None
        base = 0 if lower == "0" else 1 if lower in (None, "1") else None
        if base is None or last is None:
            ok = base is not None  # \sum_{i=1}: no end written, every entry
        else:
            end = last[:-2] if base == 0 and last.endswith("-1") else None if base == 0 \
                else last
            n = str(length)
            if end is None:
                ok = last.isdigit() and int(last) == int(n) - 1 if n.isdigit() else False
            elif end.isdigit():
                ok = n.isdigit() and int(end) == int(n)
            elif (re.fullmatch(r"[A-Za-z]", end) or end in dims) and end != index:
                if not n.isdigit():
                    ok = end == n
                else:
                    declared = getattr(self.builder, "shapes", None) or {}
                    if end not in dims and (end in declared or self.known(end)):
                        raise self.bound_variable(at, written, end, index, length, owner)
                    ok = end not in dims
                    if ok:
                        self.bound_sites.setdefault(end, (at, written, index, owner))
                        self.notes.append(f"'{written}' read as the sum over all {n} entries "
                                          f"of {owner} ({end} = {n}, its length)")
                        if self.bounds.setdefault(end, n) != n:  # (its other uses too)
                            raise self.error(at, f"{written}: {end} is the length of two "
                                             f"sums' vectors, {self.bounds[end]} and {n}: "
                                             "name the lengths apart")
            else:
                ok = False
        if not ok:
            lo, hi = lower or "1", upper or ""
            if lo.isdigit() and hi.isdigit() and base != 0:
                start, stop = int(lo) - 1, int(hi)
            elif lo.isdigit() and hi.isdigit():
                start, stop = int(lo), int(hi) + 1
            else:
                start = stop = -1
            if str(length).isdigit() and stop > int(str(length)):
                part = f"its range runs past the end of {owner}: write "
            elif 0 <= start < stop:
                part = (f"write the part as a slice in the text, sum over {owner}[{start}:"
                        f"{stop}] (docs/writing-expressions.md), or ")
            else:
                part = ("write the part as a slice in the text, sum over "
                        f"{owner}[a:b] (docs/writing-expressions.md), or ")
            raise self.error(at, f"{written} over the {length} entries of {owner} is not read "
                             "(only the whole range is, 1..n or 0..n-1): "
                             f"{part}\\sum_{index} for the sum over every entry")

    def bound_variable(self, at: int, written: str, end: str, index: str, length: object,
                       owner: str) -> ParseError:
        r"""``\sum_{i=1}^{n}`` whose n is a declared variable or a stage: its value is not
        known when the LaTeX is read, so n is no length (a bound is read as the whole range
        only), refused, naming the cause and what to write."""
        stage = end in self.stages
        instead = (f"name the stage otherwise (a letter that is no stage, {end} undeclared, is "
                   if stage else f"leave {end} undeclared (then {end} is ")
        return self.error(at, f"{written}: {end} is {'a stage' if stage else 'a declared variable'}"
                          ", whose value is not known when the LaTeX is read, so it is no bound "
                          f"of the sum over the {length} entries of {owner}: write "
                          f"\\sum_{index} for the sum over every entry, or {instead}read as "
                          "that length everywhere)" + ("" if stage else (
                              f", or write the length, \\sum_{{{index}=1}}^{{{length}}}")))

    def undeclared_entries(self, body: Piece, index: str) -> None:
        r"""``\sum_i w_i x_i`` with x declared a vector and w undeclared: w is an input
        vector of x's shape (every name with the index is a vector), with a reading."""
        shapes = getattr(self.builder, "shapes", None)
        _, owner = self.summand_length(body)
        if shapes is None or not owner or self.declared_shape(owner) is None:
            return
        for k, (frag, _) in enumerate(body[:-1]):
            name = body[k + 1][0]
            if frag == "\0entry" and name not in shapes and not self.known(name):
                shapes[name] = shapes[owner]
                self.notes.append(f"'{name}_{index}' read as the entries of the vector {name}, "
                                  f"undeclared, of {owner}'s shape {tuple(shapes[owner])} "
                                  "(declare it in shapes for another)")

    def some_vector(self, at: int, body: Piece, index: str) -> None:
        r"""``\sum_i x_i^2`` with no x_i declared nor a stage: the entries would be numbers
        and the sum a single term (x²), silently; refused, naming what to declare."""
        shapes = getattr(self.builder, "shapes", None) or {}
        names = [body[k + 1][0] for k, (frag, _) in enumerate(body[:-1])
                 if frag in ("\0entry", "\0row")]
        if names and not any(n in shapes or self.known(n) for n in names):
            listed = ", ".join(f"{n}_{index}" for n in dict.fromkeys(names))
            raise self.error(at, f"\\sum_{index}: no vector of the summand ({listed}) is "
                             "declared, so its length is unknown (undeclared, each would be "
                             f"one number): declare one in shapes, {names[0]}: (n, 1)")

    def summand_length(self, body: Piece) -> tuple[object, str]:
        """The length of the vectors of an index sum's summand (its entries' names, x_i; a
        data matrix's rows, x_i^\top w), from the first one declared in shapes; None if none
        is."""
        for k, (frag, _) in enumerate(body[:-1]):
            if frag not in ("\0entry", "\0row"):
                continue
            name = body[k + 1][0]
            shape = self.declared_shape(name)
            if shape is None:
                continue
            rows, cols = shape
            if frag == "\0row":
                if 1 not in (rows, cols):
                    return rows, name
                continue
            return (cols if rows == 1 else rows), name
        return None, ""

    def index_sum_error(self, at: int, what: str, but: str = "") -> ParseError:
        """``what`` (a transpose, a norm, a matrix function) inside ``\\sum_i``, whose
        summand is read entry by entry: refused, with the vector form to write."""
        index = self.indices[-1]
        return self.error(at, f"\\sum_{index}: {what} inside an index sum is not read (its "
                          f"summand is read entry by entry, x_{index} the entries of the "
                          f"vector x{'; ' + but if but else ''}); {VECTOR_FORM}")

    def subscripts(self, start: int) -> list[str]:
        """The subscripts written after ``_`` from token ``start`` to the one read last."""
        out = []
        for k in range(start, min(self.i, len(self.toks) - 1)):
            if self.toks[k].text == "_":
                j, parts = k + 1, []
                if self.toks[j].text == "{":
                    j += 1
                    while j < self.i and self.toks[j].text != "}":
                        parts.append(self.toks[j].text)
                        j += 1
                else:
                    parts.append(self.toks[j].text)
                out.append("".join(parts).replace(" ", ""))
        return out
