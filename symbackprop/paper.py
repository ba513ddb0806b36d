"""Mathematics as typed on paper, read into the text language before it is parsed.

The text syntax accepts what lecture notes and Markdown use: ``^`` and superscripts for
powers, ``·`` ``×`` ``⋅`` for the product, ``⊙`` ``∘`` for the element-wise product, ``ᵀ`` and
``^T`` for a transpose, ``σ(...)`` for the sigmoid, Greek letters and sub/superscript digits in
names (``λ``, ``W₁``, ``W⁽¹⁾``), ``−`` (U+2212) for minus, ``√``, ``‖v‖²`` and ``|x|``, and
implicit multiplication: ``W1 x``, ``2x``, and ``W1x`` when it splits in exactly one way into
declared names; ``tr AX``, ``det X``, ``log det X`` (a matrix function without brackets, of
the product after it), and the ones vector ``𝟏`` (``𝟏ᵀX𝟏``, as LaTeX's ``\\mathbf{1}``). The
indentation every line shares is dropped, as ``textwrap.dedent`` drops it. ``read_text``
turns all of that into plain ASCII code of the text language, with one operator Python's
parser has and the text refuses when typed, ``%`` (the element-wise product); a ``**`` that
stands for ``^`` or a superscript is listed in ``Reading.powers``: it is a power as
mathematics reads it (of a square matrix, the matrix power; of anything else, element-wise),
where a typed ``**`` is NumPy's element-wise power. Each character of the code remembers the
character of the source it came from, so errors point at what the user typed. Nothing is
evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .errors import ParseError
from .paper_lexer import (
    KEYWORDS,
    Lexer,
    Tok,
    column_of,
    ends_operand,
    starts_operand,
)
from .paper_powers import (
    _bars_text,
    _names,
    _power_end,
    _powers_and_products,
    _root_at,
    _square_ends,
)

MAX_READINGS = 8  # an ambiguous name lists at most this many readings
ALIASES = {"ln": "log", "tr": "trace", "Tr": "trace", "σ": "sigmoid"}  # and any case: ReLU
MAX_SPLIT = 64  # characters: a longer name is never split into a product


@dataclass(frozen=True, slots=True)
class Reading:
    """``code`` (ASCII text language) read from a source; ``origin[i]`` is the offset in the
    source of ``code[i]``; ``notes`` say how implicit products were read."""

    code: str
    origin: tuple[int, ...]
    notes: tuple[str, ...] = ()
    powers: frozenset[int] = frozenset()  # offsets of each ``**`` that is a power as
    # mathematics reads it (a matrix power of a square matrix); any other ``**`` is NumPy's
    ones: frozenset[int] = frozenset()  # offsets of each ``*`` with a ones vector that the
    # product sizes (LaTeX's X𝟏, 𝟏ᵀX: sums along an axis); a 𝟏 elsewhere is the number 1
    spectral: frozenset[int] = frozenset()  # offsets of each norm2(/sqnorm( written with the
    # subscript 2 (‖X‖₂): of a matrix that is the spectral norm, which is refused
    bars: frozenset[int] = frozenset()  # offsets of each abs( written as bars, |Σ|: of a
    # square matrix, the determinant (the Matrix Cookbook's, Bishop's)
    entries: frozenset[int] = frozenset()  # offsets of each name read as the entries of a
    # vector in an index sum (x_i in \sum_i): a matrix there is refused
    summands: tuple[tuple[int, int, str], ...] = ()  # (start, end, index) of the code of
    # each index sum's summand (\sum_i …): a name there is an entry (x_i) or a number
    rows: frozenset[int] = frozenset()  # offsets of the names of each wᵀxᵢ in an index sum
    # read as entry i of X·w (xᵢ the row i of X): the product (x @ w) is the entry
    vectors: frozenset[str] = frozenset()  # the inputs declared (n,): NumPy's 1-D arrays,
    # of one axis in an einsum (held as columns (n, 1) everywhere else)
    columns: frozenset[tuple[int, int]] = frozenset()  # (start, end) of each NumPy 1-D value
    # held as a row (X[i]) that the text reads as its column, beside a 1-D value held so
    dots: frozenset[tuple[int, int]] = frozenset()  # (start, end) of each ``a @ b`` of two
    # 1-D values: NumPy's dot product
    matrices: frozenset[tuple[int, int]] = frozenset()  # (start, end) of each norm(x, ord)
    # of a 2-D column or 1×1 whose NumPy matrix norm differs from the text's vector norm,
    # and of each inner(x, y) of a 2-D column (NumPy's x yᵀ, not the dot product)
    ends: frozenset[tuple[int, int]] = frozenset()  # (start, end) of each pad(x, …) of
    # NumPy's 1-D x: it pads its ends
    one_entries: frozenset[tuple[int, int, int]] = frozenset()  # (start, end, rank) of each
    # operand of one entry a product, a join or an index reads as a number (0) or a 1×1 (2)

    def source_offset(self, line: int, col: int) -> int | None:
        """The offset in the source of the code's 1-based (line, column), if known."""
        starts = [0] + [i + 1 for i, ch in enumerate(self.code) if ch == "\n"]
        if not self.origin or not 1 <= line <= len(starts):
            return None
        return self.origin[min(starts[line - 1] + max(col, 1) - 1, len(self.origin) - 1)]



def split_name(word: str, known: Callable[[str], bool]) -> list[list[str]]:
    """Every way to write ``word`` as two or more known names (at most MAX_READINGS + 1).

    Only a word of at most ``MAX_SPLIT`` characters is split (a longer one is no product
    of names anyone typed, and the limits refuse it as a name): the work stays bounded."""
    if len(word) > MAX_SPLIT:
        return []
    ways: dict[int, list[list[str]]] = {len(word): [[]]}
    for start in range(len(word) - 1, -1, -1):
        found: list[list[str]] = []
        for end in range(start + 1, len(word) + 1):
            if end in ways and known(word[start:end]):
                found.extend([word[start:end], *rest] for rest in ways[end])
                if len(found) > MAX_READINGS:
                    break
        if found:
            ways[start] = found[:MAX_READINGS + 1]
    return [w for w in ways.get(0, []) if len(w) > 1]


def declared_then_call(word: str, declared: Callable[[str], bool],
                       function: Callable[[str], str | None]) -> tuple[list[str], str] | None:
    """``Atanh`` before a bracket with ``A`` declared: the declared names (or the one way
    they split into declared names) and the function that follows them, ``(["A"], "tanh")``;
    None if no declared head runs into a function (``function`` gives its name, or None)."""
    for k in range(1, min(len(word), MAX_SPLIT)):
        head, fn = word[:k], function(word[k:])
        if fn is None:
            continue
        heads = [[head]] if declared(head) else split_name(head, declared)
        if len(heads) == 1:
            return heads[0], word[k:]
    return None


def _indentation(text: str) -> frozenset[int]:
    """The offsets of the indentation that every line shares (and of the whitespace of blank
    lines), which ``textwrap.dedent`` would remove: stages indented in a triple-quoted
    string read as written at the margin (a first line right after the quotes aside, as
    ``inspect.cleandoc`` reads a docstring). A line indented further keeps the rest."""
    starts = [0] + [j + 1 for j, ch in enumerate(text)
                    if ch == "\n" or (ch == "\r" and text[j + 1:j + 2] != "\n")]
    lines: list[tuple[int, str]] = []
    blank: list[int] = []
    for start in starts:
        j = start
        while j < len(text) and text[j] in " \t":
            j += 1
        if j == len(text) or text[j] in "\r\n":
            blank.extend(range(start, j))
        else:
            lines.append((start, text[start:j]))
    if len(lines) > 1 and lines[0] == (0, ""):  # """z = …\n    L = …""": the first line
        lines = lines[1:]  # follows the quotes; the rest share theirs (inspect.cleandoc)
    common = lines[0][1] if lines else ""  # the longest indentation all lines start with
    for _, w in lines[1:]:
        n = 0
        while n < min(len(common), len(w)) and common[n] == w[n]:
            n += 1
        common = common[:n]
    return frozenset(blank) | frozenset(
        at for start, _ in lines for at in range(start, start + len(common)))


# functions written without brackets, as on paper: tr AX is tr(AX), det X is det(X), of the
# product after them; log det X and ln|det X| the logarithm of that determinant or bars
_BARE = {"tr": "trace", "Tr": "trace", "trace": "trace", "det": "det", "logdet": "logdet"}
_LOGS = {"log": "log", "ln": "log"}
_ENDS_ARGUMENT = frozenset({"+", "-", ",", "=", ";", "/", "%", ">", "<", ">=", "<=", "==",
                            "!=", ":", "["})


def _bare_calls(toks: list[Tok], text: str, declared: Callable[[str], bool],
                funcs: frozenset[str], notes: list[str]) -> list[Tok]:
    """``tr AX``, ``det X``, ``log det X``, ``ln|det X|``: brackets put around the argument
    of a function written without them (``tr``, ``det``, ``logdet``: the product after it,
    up to the next + or −, a division, ⊙, a closing bracket or bar, or another function;
    ``log``, ``ln``: a determinant or a trace so written, or the bars after it), each
    reading noted. A declared name (``tr`` in ``shapes``) stays a name."""
    if not any(t.kind == "name" and (t.text in _BARE or t.text in _LOGS) for t in toks):
        return toks
    toks = list(toks)
    ends: dict[int, int] = {}  # a token's end in the source: where the next one starts
    for j in range(len(toks) - 1, -1, -1):
        later = ends.get(id(toks[j + 1]), len(text)) if j + 1 < len(toks) else len(text)
        ends[id(toks[j])] = later if j + 1 >= len(toks) or toks[j + 1].at <= toks[j].at \
            else toks[j + 1].at
    found: list[str] = []

    def sig(j: int) -> int:  # the first token from j that is not a space
        while j < len(toks) and toks[j].kind == "space":
            j += 1
        return j

    def is_call(j: int) -> bool:  # a function's name: one of these, or called
        u = toks[j]
        if u.kind != "name" or declared(u.text):
            return False
        if u.text in _BARE or u.text in _LOGS:
            return True
        after = sig(j + 1)
        return after < len(toks) and toks[after].text == "(" and toks[after].kind == "op"

    for k in range(len(toks) - 1, -1, -1):
        t = toks[k]
        if t.kind != "name" or declared(t.text):
            continue
        fn = _BARE.get(t.text) or _LOGS.get(t.text)
        j = sig(k + 1)
        if fn is None or fn not in funcs or j >= len(toks) or toks[j].text == "(":
            continue
        a = toks[j]
        if fn == "log" and t.text in _LOGS:
            if a.kind == "name" and a.text in funcs and a.text in _BARE.values() and \
                    sig(j + 1) < len(toks) and toks[sig(j + 1)].text == "(":
                stop = _argument_end(toks, sig(j + 1) + 1, is_call, closing=")") + 1
            elif a.kind in ("abs", "norm"):
                stop = _argument_end(toks, j, is_call, closing=a.kind) + 1
            else:
                continue  # log x: a call, as the text writes it (an error says so)
        elif starts_operand(a) or a.kind in ("abs", "norm"):  # tr AX, det exp(X)
            stop = _argument_end(toks, j, is_call)
        elif a.kind == "op" and a.text in ("-", "+") and t.text in _BARE:
            # tr −AX: a sign is no product to take (tr would be a name minus AX)
            raise ParseError(f"'{t.text} {a.text}…': {t.text} without brackets takes the "
                             f"product after it; write {t.text}({a.text}…) with brackets",
                             column=column_of(text, t.at), text=text)
        else:
            continue
        if stop > len(toks):  # ln|x with no closing bar: the reader says so
            continue
        last = stop - 1
        while toks[last].kind == "space":
            last -= 1
        if last < j:
            continue
        end = ends[id(toks[last])]
        found.append(f"'{text[t.at:end].rstrip()}' read as {fn}({text[a.at:end].rstrip()})"
                     + (" (without brackets, of the product after it up to the next +, −, ⊙ "
                        "or /)"
                        if fn != "log" else ""))
        close = Tok("op", ")", toks[last].at)
        ends[id(close)] = end
        toks.insert(last + 1, close)
        toks.insert(k + 1, Tok("op", "(", t.at))
        t.text = fn
        t.call = True
    notes.extend(reversed(found))
    return toks


def _declared_calls(toks: list[Tok], text: str, declared: Callable[[str], bool],
                    funcs: frozenset[str], notes: list[str]) -> list[Tok]:
    """``Atanh(z)``, ``Wtanh(z)`` with ``A`` (``W``) declared and the whole name not: the
    declared name times the function, with a reading (undeclared, ``Atanh`` is atanh)."""
    def function(tail: str) -> str | None:  # as typed (ReLU with R declared: not R·eLU)
        return tail if ALIASES.get(tail, tail) in funcs and not declared(tail) else None

    out: list[Tok] = []
    for k, t in enumerate(toks):
        j = k + 1
        while j < len(toks) and toks[j].kind == "space":
            j += 1
        split = None
        if t.kind == "name" and not t.call and not declared(t.text) and t.text not in funcs \
                and j < len(toks) and toks[j].text == "(" and t.end - t.at == len(t.text) \
                and not (out and out[-1].text == "."):  # (vdot(X, v): a function, as typed)
            split = declared_then_call(t.text, declared, function)
        if split is None:
            out.append(t)
            continue
        heads, fn = split
        notes.append(f"'{t.text}(…)' read as {'·'.join(heads)}·{fn}(…), the declared "
                     f"{'·'.join(heads)} times the function {fn}")
        at = t.at
        for h in heads:
            out.append(Tok("name", h, at, at + len(h)))
            out.append(Tok("op", "*", at + len(h)))
            at += len(h)
        out.append(Tok("name", fn, at, t.end))
    return out


def _argument_end(toks: list[Tok], j: int, is_call: Callable[[int], bool],
                  closing: str = "") -> int:
    """Where the argument starting at token ``j`` of a function written without brackets
    ends (the index after it). ``closing``: the argument is bracketed, and ends at the
    ``)`` (the brackets open before ``j``) or the bar (opening at ``j``) that closes it."""
    depth = 1 if closing == ")" else 0
    bars: list[str] = []
    prev: Tok | None = None
    m = j
    while m < len(toks):
        u = toks[m]
        if u.kind == "space":
            m += 1
            continue
        if u.kind in ("abs", "norm"):
            if bars and bars[-1] == u.kind and ends_operand(prev):
                bars.pop()
                if closing in ("abs", "norm") and not bars and depth == 0:
                    return m
            elif depth == 0 and not bars and ends_operand(prev):
                break  # |det X|: the bar that closes the one around
            else:
                bars.append(u.kind)
        elif u.kind == "op" and u.text == "(":
            depth += 1
        elif u.kind == "op" and u.text == ")":
            depth -= 1
            if depth == 0 and closing == ")":
                return m
            if depth < 0:
                break
        elif depth == 0 and not bars:
            if u.kind in ("newline", "string") or (
                    u.kind == "op" and u.text in _ENDS_ARGUMENT and not (
                        prev is not None and prev.kind == "op" and prev.text == "**")):
                break
            if u.kind == "name" and m > j and is_call(m) and not (
                    u.text == "T" and prev is not None and prev.text == "."):
                break  # det A det B, tr A σ(x): another function
            if u.kind == "op" and u.text == "*":
                after = m + 1
                while after < len(toks) and toks[after].kind == "space":
                    after += 1
                if after < len(toks) and is_call(after):
                    break  # det A · det B
        prev = u
        m += 1
    return len(toks) if closing else m  # (closing: never closed)


def read_text(text: str, known: Callable[[str], bool], functions: Iterable[str]) -> Reading:
    """The text syntax with maths notation, as plain code of the text language."""
    funcs = frozenset(functions)
    toks = Lexer(text).run()
    stage_names = _stage_names(toks)

    def declared(name: str) -> bool:
        return name in stage_names or known(name)

    notes: list[str] = []
    for t in toks:  # σ(x) with sigma declared: the name (a product, with a reading below)
        if t.kind == "name" and t.text == "sigmoid" and text[t.at] == "σ" and declared("sigma"):
            t.text = "sigma"
    toks = _declared_calls(toks, text, declared, funcs, notes)
    indent = _indentation(text)  # the lines' common indentation: dropped, as by dedent
    toks = _bare_calls(toks, text, declared, funcs, notes)
    toks = _names(toks, text, declared, funcs, notes)
    _powers_and_products(toks, text, declared, notes)
    following = [len(toks)] * len(toks)  # the index of the next token that is not a space
    for j in range(len(toks) - 2, -1, -1):
        following[j] = j + 1 if toks[j + 1].kind != "space" else following[j + 1]
    out: list[tuple[str, int]] = []
    sized: list[int] = []  # the pieces of out that are a product with a ones vector it sizes
    ones = ""  # the operand read last is 𝟏 ("one"), 𝟏 and its ᵀ so far ("dot"), 𝟏ᵀ ("row")
    prev: Tok | None = None  # the last token that is not a space
    opened: list[tuple[str, int, int]] = []  # open norms and absolute values: kind, out index
    powers: list[int] = []  # the pieces of out: ** that are powers as mathematics reads them
    # (pieces, not offsets: a norm's opening piece is rewritten later, norm2( as sqnorm()
    spectral: list[int] = []  # the pieces of out that open a norm written ‖…‖₂
    bars: list[int] = []  # the pieces of out that open an absolute value written |…|
    divisor: Tok | None = None  # the last number or name written right after a /
    divided = ""  # and the divisor as written (yᵀ: the name and its postfix)
    k = 0
    while k < len(toks):
        t = toks[k]
        nxt_at = following[k]
        nxt = toks[nxt_at] if nxt_at < len(toks) else None
        if t.kind == "space":
            if t.at not in indent:
                out.append((" ", t.at))
            k += 1
            continue
        if t.kind == "newline":
            out.append(("\n", t.at))
            prev = None
            ones = ""
            k += 1
            continue
        # 𝟏 (not 𝟏ᵀ) is sized by the product before it (X𝟏, X·𝟏); 𝟏ᵀ by the one after it
        beyond = following[nxt_at] if nxt_at < len(toks) else len(toks)
        column = t.kind == "ones" and not (nxt is not None and nxt.text == "." and
                                           beyond < len(toks) and toks[beyond].text == "T")
        if column and prev is not None and prev.kind == "op" and prev.text == "*":
            sized.append(len(out) - 1 - next(j for j, (p, _) in enumerate(reversed(out))
                                             if p == "*"))  # X·𝟏: the * before it
        if t.kind == "name" and nxt is not None and nxt.kind == "op" and nxt.text == "(" and \
                not (t.text == "T" and prev is not None and prev.text == "."):  # xᵀ(…): a product
            alias = ALIASES.get(text[t.at] if t.text == "sigma" else t.text, t.text.lower())
            if t.text not in funcs and alias in funcs and not declared(t.text):
                notes.append(f"{t.text!r} read as {alias}")  # ReLU(x), ln(x), tr(A)
                t.text = alias
            elif not t.call and declared(t.text) and alias in funcs and t.text not in funcs:
                # σ(x), tr(x), ReLU(x) with the name declared: the name times the bracket
                written = text[t.at:max(t.end, t.at + 1)]
                notes.append(f"'{written}(…)' read as {t.text}·(…), the declared {t.text} "
                             f"times the bracket (for the function write {alias}(…))")
            t.call = t.call or t.text in funcs or not declared(t.text)
            if t.text == "pi" and text[t.at] == "π":  # 2π(r + 1): the number times it
                t.call = False
        closing = t.kind in ("norm", "abs") and opened and opened[-1][0] == t.kind \
            and ends_operand(prev)
        if not closing and ends_operand(prev) and (
                starts_operand(t) or t.kind in ("norm", "abs")):
            if prev is not None and prev.kind == "number" and t.kind == "number":
                raise ParseError("two numbers side by side: write the operator between them",
                                 column=column_of(text, t.at), text=text)
            if prev is not None and prev.kind == "number" and t.kind == "name" and \
                    t.text in ("j", "J") and text[t.at - 1:t.at].isdigit() and \
                    not declared(t.text):  # 1j is Python's imaginary number, not 1·j
                raise ParseError(f"{prev.text}{t.text}: complex numbers are not supported (for a "
                                 f"product with a variable write {prev.text}*{t.text})",
                                 column=column_of(text, prev.at), text=text)
            if prev is not None and prev is divisor:  # 1/2x: (1/2)·x, as Python reads it
                after = "(…)" if t.text == "(" else t.text
                if t.kind in ("norm", "abs"):  # λ/2‖w‖²: the bars and what they hold
                    after = _bars_text(toks, k, text)
                notes.append(f"'/{divided}{after}' read as a division by {divided}, then "
                             f"a product with {after} (write /({divided}*{after}) to "
                             "divide by both)")
            if prev is not None and prev.root:  # √x y: √ took x only
                root = text[_root_at(toks, k):t.at].rstrip()
                after = "(…)" if t.text == "(" else text[t.at:max(t.end, t.at + 1)]
                notes.append(f"'{root} {after}' read as √({root[1:].strip()})·{after}: √ "
                             "without brackets takes the next name or number only (write "
                             "√(…) around all it takes)")
            if column or ones == "row":  # X𝟏, 𝟏ᵀX: a product with a ones vector it sizes
                sized.append(len(out))
            out.append(("*", t.at))  # implicit multiplication
        row = ones == "row"  # the operand before is 𝟏ᵀ
        ones = "one" if t.kind == "ones" else "dot" if ones == "one" and t.text == "." \
            else "row" if ones == "dot" and t.text == "T" else ""
        raised = following[nxt_at] if nxt is not None and nxt.root else nxt_at
        power = toks[raised] if raised < len(toks) else None
        if t.kind == "name" and t.text == "e" and not declared("e") and power is not None \
                and power.kind == "op" and power.text == "**" and power.call:
            # e^x is exp(x), as on paper; √e^x too: (√e)^x, which is √(e^x)
            notes.append("'e^' read as the exponential")
            out.extend((c, t.at) for c in "exp(1)")
            prev = Tok("op", ")", t.at)
            k += 1
            continue
        if t.kind == "name" and len(t.text) > 1 and t.text.endswith("e") and \
                not declared(t.text) and not declared("e") and nxt is not None and \
                nxt.kind == "op" and nxt.text == "**" and nxt.call:
            head = t.text[:-1]  # xe^x, ae^{bx}: x·e^x, as on paper (TeX's letters)
            heads = [[head]] if len(head) == 1 or declared(head) else \
                split_name(head, declared)
            if len(heads) == 1:
                notes.append(f"'{t.text}^' read as {'·'.join(heads[0])}·e^ (the exponential)")
                out.extend((c, t.at) for c in "*".join(heads[0]) + "*exp(1)")
                prev = Tok("op", ")", t.at)
                k += 1
                continue
        if t.kind == "name" and not t.call and not declared(t.text) \
                and t.text not in KEYWORDS:
            ways = split_name(t.text, declared) if t.text not in funcs else []
            if len(ways) > 1:
                shown = "; ".join("·".join(w) for w in ways[:MAX_READINGS])
                raise ParseError(f"{t.text!r} can be read in more than one way ({shown}): "
                                 "write the product with spaces or *",
                                 column=column_of(text, t.at), text=text)
            if ways and nxt is not None and nxt.root:
                # √xy, √W1x: √ takes the next name only, x (as √x y and √2xy)
                first, rest = ways[0][0], "*".join(ways[0][1:])
                root = text[_root_at(toks, k):t.at]
                notes.append(f"'{root}{t.text}' read as √({first})·{'·'.join(ways[0][1:])}: "
                             "√ without brackets takes the next name or number only, and "
                             f"{t.text!r} is the product {'·'.join(ways[0])} (write "
                             f"√({'·'.join(ways[0])}) for the root of the product)")
                out.extend((c, t.at) for c in first)
                out.append((")", nxt.at))
                out.extend((c, t.at) for c in "*" + rest)
                prev = Tok("name", ways[0][-1], t.at, t.end)
                k = nxt_at + 1
                continue
            if ways:
                notes.append(f"{t.text!r} read as {'·'.join(ways[0])}")
                if prev is not None and prev.kind == "op" and prev.text == "/":  # a/bc
                    first, rest = ways[0][0], "·".join(ways[0][1:])
                    notes.append(f"'/{t.text}' read as a division by {first}, then a product "
                                 f"with {rest} (write /({'*'.join(ways[0])}) to divide by "
                                 "all)")
                out.extend((c, t.at) for c in "*".join(ways[0]))
                prev = t
                k += 1
                continue
        if t.kind in ("norm", "abs"):
            if closing:
                kind, index, _ = opened.pop()
                order = t.text[1:] if kind == "norm" else ""
                last = _square_ends(toks, following, nxt_at) \
                    if kind == "norm" and not order else None
                if order:  # ‖v‖₁: norm(v, 1)
                    out[index] = ("norm(", out[index][1])
                out.append((f", {order})" if order else ")", t.at))
                if last is not None:  # ‖v‖², ‖v‖^2, ‖v‖^{2}: the squared norm
                    out[index] = ("sqnorm(", out[index][1])
                    k = last
                if t.two:
                    spectral.append(index)
                prev = Tok("op", ")", t.at)
            else:
                opened.append((t.kind, len(out), t.at))
                if t.kind == "abs":
                    bars.append(len(out))
                out.append(("norm2(" if t.kind == "norm" else "abs(", t.at))
                prev = None
            k += 1
            continue
        if prev is not None and prev.root and (t.kind == "sup" or (
                t.kind == "op" and t.text == "**")):  # √x²: the power is of the root
            root = text[_root_at(toks, k):t.at].rstrip()
            written = text[t.at:_power_end(toks, following, k, text)]
            notes.append(f"'{root}{written}' read as ({root}){written}: √ without brackets "
                         f"takes the next name or number only, and the power is of the "
                         f"root (write √({root[1:].strip()}{written}) for the root of the "
                         "power)")
        if t.kind == "sup" or (t.kind == "op" and t.call):  # ^, ², ⁻¹: remembered by offset
            powers.append(len(out))
            out.extend((c, t.at) for c in ("**" if t.kind == "op" else f"**({t.text})"))
        else:
            if row and t.kind == "op" and t.text == "*":  # 𝟏ᵀ·X
                sized.append(len(out))
            if t.kind == "op" and t.text == "." and out and out[-1][0][-1:].isdigit():
                out.append((" ", t.at))  # X^2ᵀ: X**2 .T (2.T would be the number 2.)
            out.extend((c, t.at) for c in t.text)
        if t.kind in ("number", "name") and prev is not None and prev.kind == "op" and \
                prev.text == "/":
            divisor, divided = t, t.text  # a number or a name right after / (a/b c)
        elif prev is not None and prev is divisor and (t.kind == "sup" or (
                t.kind == "op" and t.text == ".") or (prev.text == "." and t.text == "T")):
            # x/y²z, x/yᵀAy: the divisor y², yᵀ (ᵀ is the tokens . T)
            divisor = t
            divided += {".": "", "T": "ᵀ"}.get(t.text, "") if t.kind != "sup" else f"^{t.text}"
        prev = t
        k += 1
    if opened:
        kind, _, at = opened[-1]
        raise ParseError(f"{'‖' if kind == 'norm' else '|'} is not closed",
                         column=column_of(text, at), text=text)
    code: list[str] = []
    origin: list[int] = []
    marked: list[int] = []
    ones_at: list[int] = []
    power_at: list[int] = []
    bars_at: list[int] = []
    spectral_set, sized_set, power_set = set(spectral), set(sized), set(powers)
    bars_set = set(bars)
    for j, (piece, at) in enumerate(out):
        if j in spectral_set:
            marked.append(len(origin))
        if j in bars_set:
            bars_at.append(len(origin))
        if j in sized_set:
            ones_at.append(len(origin))
        if j in power_set:
            power_at.append(len(origin))
        code.append(piece)
        origin.extend([at] * len(piece))
    return Reading("".join(code), tuple(origin), tuple(notes), frozenset(power_at),
                   frozenset(ones_at), frozenset(marked), frozenset(bars_at))


def _stage_names(toks: list[Tok]) -> set[str]:
    """Names bound by ``name = ...`` at the start of a statement."""
    names: set[str] = set()
    start = True
    sig = [t for t in toks if t.kind != "space"]
    for j, t in enumerate(sig):
        if start and t.kind == "name" and j + 1 < len(sig) and sig[j + 1].text == "=":
            names.add(t.text)
        start = t.kind == "newline" or (t.kind == "op" and t.text == ";")
    return names


