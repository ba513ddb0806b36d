"""Names and powers as papers write them, read before ``paper.read_text`` reads the rest.

``_names`` reads ``W^(1)`` (the layer index, as ``W⁽¹⁾``), ``σ²(x)`` and ``tanh²(x)``
(``_function_power``: the function's value squared, entry by entry), ``log_2(x)`` and a
Greek letter that looks like a declared Latin one; ``_powers_and_products`` refuses a
double superscript (``x^2^3``), two product signs in a row and ``e^2x``. ``_bars_text``,
``_root_at``, ``_power_end`` and ``_square_ends`` find where a written norm, root or power
ends in the source, for ``read_text``'s notes.
They live apart from ``paper.py`` to keep it to one concern (the reading loop) and under
the project's module size; this module sits below ``paper.py`` and never imports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import ParseError
from .paper_lexer import GREEK, KEYWORDS, Tok, column_of

# W^(1), W^{(1)} right after a name: the layer index, as W⁽¹⁾ and LaTeX's W^{(1)} read
_LAYER = re.compile(r"\^(?:\((\d{1,3})\)|\{\((\d{1,3})\)\})")
# Greek letters that look like Latin ones: ν is no v (Wν with v declared is a new input nu)
_LOOKALIKES = {"ν": "v", "ρ": "p", "κ": "k", "ι": "i", "υ": "u", "ω": "w"}
_RAISED = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
_LOG_BASES = {"log_2": "log2", "log_10": "log10"}


def _sig(toks: list[Tok], j: int) -> int:
    """The first token from ``j`` that is not a space."""
    while j < len(toks) and toks[j].kind == "space":
        j += 1
    return j


def _operand_end(toks: list[Tok], j: int) -> int | None:
    """The index after the operand (a number or name, signed, or a bracketed group) that
    starts at token ``j``; None if none starts there."""
    j = _sig(toks, j)
    if j < len(toks) and toks[j].kind == "op" and toks[j].text in ("-", "+"):
        j = _sig(toks, j + 1)
    if j >= len(toks):
        return None
    u = toks[j]
    if u.kind in ("number", "name") and not u.call:
        return j + 1
    if u.kind == "op" and u.text == "(":
        depth = 0
        for m in range(j, len(toks)):
            depth += {"(": 1, ")": -1}.get(toks[m].text if toks[m].kind == "op" else "", 0)
            if depth == 0:
                return m + 1
    return None


def _names(toks: list[Tok], text: str, declared: Callable[[str], bool],
           funcs: frozenset[str], notes: list[str]) -> list[Tok]:
    """Names as papers write them: ``W^(1)`` (the layer index, as ``W⁽¹⁾``), ``σ²(x)`` (the
    sigmoid's value squared), ``log_2(x)`` (the logarithm to base 2), and a Greek letter
    that looks like a declared Latin one (``ν`` beside a declared ``v``), each read with a
    reading or refused with what to write."""
    def error(at: int, message: str) -> ParseError:
        return ParseError(message, column=column_of(text, at), text=text)

    toks = list(toks)
    k = 0
    while k < len(toks):
        t = toks[k]
        if t.kind == "name" and k and toks[k - 1].kind == "op" and toks[k - 1].text == "**" \
                and toks[k - 1].call and len(t.text) > 1 and t.text[0] == "T" \
                and t.at == toks[k - 1].at + 1 and not declared(t.text):
            # x^TAx, v^Tv: the transpose, then the names after it (a power of a name Tv
            # nobody declared is no reading a paper makes)
            rest = t.text[1:]
            notes.append(f"'^{t.text}' read as ᵀ then {rest} (declare {t.text} for a power "
                         f"of it)")
            toks[k - 1:k + 1] = [Tok("op", ".", toks[k - 1].at), Tok("name", "T", t.at),
                                 Tok("name", rest, t.at + 1, end=t.end)]
            k += 1
            continue
        if t.kind != "name" or t.call or t.text in KEYWORDS:
            k += 1
            continue
        fn = "" if t.text == "sigma" and text[t.at] == "σ" else \
            t.text.lower() if t.text.lower() in funcs and not declared(t.text) else None
        if fn is not None:  # σ²(x), tanh²(x), Tanh²(x), ReLU²(x): the value's power
            toks = _function_power(toks, k, text, declared, notes, fn)
            if toks[k] is not t:
                k += 1
                continue
        m = _LAYER.match(text, t.end) if t.end > t.at else None
        if m is not None and t.text not in funcs:
            index = m.group(1) or m.group(2)
            base, layer, written = t.text, t.text + index, text[t.at:m.end()]
            raised = f"{base}⁽{index.translate(_RAISED)}⁾"
            if declared(base) and declared(layer):
                raise error(t.at, f"'{written}' could be the power {index} of {base} or the "
                            f"layer's {layer}, both declared: write {base}^{index} for the "
                            f"power, {layer} (or {raised}) for the layer's")
            if declared(base):
                notes.append(f"'{written}' read as the power {index} of the declared {base} "
                             f"(the layer's {base} is written {raised}, the name {layer})")
            elif not declared(layer):  # (W1 declared, W not: parse_readings refuses)
                notes.append(f"'{written}' read as the name {layer}, a layer (step, sample) "
                             f"index as in {raised} and LaTeX's {base}^{{({index})}} (for "
                             f"the power write {base}^{index})")
                j = k + 1
                while j < len(toks) and toks[j].at < m.end():
                    j += 1
                t.text, t.end = layer, m.end()
                del toks[k + 1:j]
        if t.text in _LOG_BASES and _LOG_BASES[t.text] in funcs and not declared(t.text):
            nxt = _sig(toks, k + 1)
            if nxt >= len(toks) or toks[nxt].text != "(":
                raise error(t.at, f"'{t.text}' without brackets is not read: write "
                            f"{t.text}(…) for the logarithm to base {t.text[4:]}")
            t.text = _LOG_BASES[t.text]  # log_2(x), as log₂(x): log2
        ch = text[t.at]
        if ch in _LOOKALIKES and t.text.startswith(GREEK[ch]) and not declared(t.text):
            latin = _LOOKALIKES[ch] + t.text[len(GREEK[ch]):]
            if declared(latin):
                notes.append(f"'{ch}' read as the Greek letter {GREEK[ch]}, a name of its "
                             f"own (not the declared {latin}, which it looks like)")
        k += 1
    return toks


def _function_power(toks: list[Tok], k: int, text: str, declared: Callable[[str], bool],
                 notes: list[str], fn: str = "") -> list[Tok]:
    """``σ²(x)``, ``σ^2(x)``, ``σ^{2}(x)``: the sigmoid's value squared, σ(x)², as
    ``tanh²(x)`` is; ``σ⁻¹(x)`` (the inverse function) is refused with what to write. With
    ``fn``, the same of that function, written in any case (``Tanh²(x)`` is tanh(x)²: it
    was the name Tanh, squared, times x)."""
    p = _sig(toks, k + 1)
    if p >= len(toks) or not (toks[p].kind == "sup" or (toks[p].text == "**" and toks[p].call)):
        return toks
    end = p + 1 if toks[p].kind == "sup" else _operand_end(toks, p + 1)
    if end is None:
        return toks
    q = _sig(toks, end)
    if q >= len(toks) or toks[q].kind != "op" or toks[q].text != "(":
        return toks
    close = _operand_end(toks, q)
    if close is None:  # an unclosed bracket: as written, for the reader to refuse
        return toks
    power = "".join(u.text for u in toks[p:end] if u.kind != "space")
    power = power.removeprefix("**").removeprefix("(").removesuffix(")")
    written = text[toks[k].at:toks[q].at].rstrip()
    at = toks[k].at
    if fn:
        if not re.fullmatch(r"[1-9]\d{0,2}", power):  # f⁻¹: the inverse or 1/f? refused
            raise ParseError(f"'{written}(…)' is not read: a power of {fn} before its "
                             f"bracket is read for a whole number only; write {fn}(…)^… for "
                             "the power of its value (an inverse function by its name)",
                             column=column_of(text, at), text=text)
        notes.append(f"'{written}(…)' read as {fn}(…){power.translate(_RAISED)}, the power "
                     "of its value, entry by entry")
        call = Tok("name", fn, at, toks[k].end, call=True)
        return [*toks[:k], call, *toks[q:close], *_value_power(toks[p], power),
                *toks[close:]]
    if declared("sigma"):  # σ²(1 − ρ): the declared σ (a variance's), squared, times (…)
        notes.append(f"'{written}(…)' read as sigma^{power}·(…), the declared sigma times "
                     f"the bracket (for the power of the sigmoid's value write "
                     f"sigmoid(…)^{power})")
        return toks
    if power in ("-1", "(-1)"):
        raise ParseError(f"'{written}(…)' is not read: for the inverse of the sigmoid write "
                         f"logit(…); for 1/σ(…) write σ(…)⁻¹",
                         column=column_of(text, at), text=text)
    if not re.fullmatch(r"[1-9]\d{0,2}", power):
        raise ParseError(f"'{written}(…)': a power of σ before its bracket is read for a "
                         "whole number only (σ²(x) is σ(x)²); write σ(…)^… for the power of "
                         "its value", column=column_of(text, at), text=text)
    notes.append(f"'{written}(…)' read as σ(…){power.translate(_RAISED)}, the power of the "
                 "sigmoid's value, entry by entry, as tanh²(x) is (σ a name: declare sigma)")
    sigmoid = Tok("name", "sigmoid", at, toks[k].end, call=True)
    return [*toks[:k], sigmoid, *toks[q:close], *_value_power(toks[p], power),
            *toks[close:]]


def _value_power(caret: Tok, power: str) -> list[Tok]:
    """The power of a function's value, ``**`` as typed: element-wise, as the value of an
    element-wise function is (tanh²(Q) of a square matrix Q is tanh(Q)**2, not the matrix
    product tanh(Q)·tanh(Q); the literature's 1 − tanh²(z) is entry by entry)."""
    return [Tok("op", "**", caret.at), Tok("number", power, caret.at)]


def _powers_and_products(toks: list[Tok], text: str, declared: Callable[[str], bool],
                         notes: list[str]) -> None:
    """Refused: two product signs in a row (``x··y``, which Python would read as ``**``)
    or one with nothing before it (``(·y)``); a double superscript (``x^2^3``, ``x²^3``,
    which TeX refuses too: say ``(x^2)^3`` or ``x^(2^3)``; two typed ``**`` are Python's,
    right to left); ``e^2x`` (e^(2x) or e²·x?). Read with a reading: ``x^1/2``, (x¹)/2."""
    def error(at: int, message: str) -> ParseError:
        return ParseError(message, column=column_of(text, at), text=text)

    sig = [u for u in toks if u.kind != "space"]
    adjacent = {id(toks[j]) for j in range(1, len(toks)) if toks[j - 1].kind != "space"}

    def paper(u: Tok) -> bool:
        return u.kind == "sup" or (u.kind == "op" and u.text == "**" and u.call)

    def power(u: Tok) -> bool:
        return u.kind == "sup" or (u.kind == "op" and u.text == "**")

    def exponent_of(n: int) -> Tok | None:
        """The power whose exponent ends with sig[n], if any."""
        u = sig[n]
        if u.kind == "sup":
            return u
        m = n - 1
        if u.kind in ("number", "name") and not u.call:
            if m >= 0 and sig[m].kind == "op" and sig[m].text in ("-", "+"):
                m -= 1
        elif u.kind == "op" and u.text == ")":
            depth = 0
            while m >= 0:
                if sig[m].kind == "op" and sig[m].text in "()":
                    depth += 1 if sig[m].text == ")" else -1
                    if depth < 0:
                        break
                m -= 1
            m -= 1
        else:
            return None
        return sig[m] if m >= 0 and sig[m].kind == "op" and sig[m].text == "**" else None

    for n, u in enumerate(sig):
        prev = sig[n - 1] if n else None
        if u.kind == "op" and u.text == "*":
            if prev is not None and prev.kind == "op" and prev.text in ("*", "**", "/", "%"):
                raise error(u.at, "two product signs in a row: write one between the factors "
                            "(x·y)")
            if text[u.at] != "*" and (prev is None or prev.kind == "newline" or (
                    prev.kind == "op" and prev.text in ("(", ",", "=", ";", "+", "-"))):
                # (·y, x + ·y: a typed * there is Python's syntax error, as before)
                raise error(u.at, "a product sign with nothing before it: write the factor "
                            "before it, or remove it")
        if power(u) and prev is not None:
            first = exponent_of(n - 1)
            if first is not None and (paper(first) or paper(u)):
                raise error(u.at, "a double superscript (a power of a power written "
                            "x^2^3, x²^3): TeX refuses it too; bracket what you mean, "
                            "(x^2)^3 or x^(2^3)")
        if not (u.kind == "op" and u.text == "**" and u.call) or n + 1 >= len(sig):
            continue
        if prev is not None and prev.kind == "name" and prev.text == "e" and \
                not declared("e"):
            _exponent_of_e(sig, n, text, adjacent, declared, error)
        number = sig[n + 1]
        after = sig[n + 2] if n + 2 < len(sig) else None
        if number.kind != "number" or after is None:
            continue
        if after.kind == "op" and after.text == "/" and n + 3 < len(sig) and \
                sig[n + 3].kind in ("number", "name"):
            den = sig[n + 3].text
            notes.append(f"'^{number.text}/{den}' read as the power {number.text}, then a "
                         f"division by {den}: ^ takes the number after it only (write "
                         f"^({number.text}/{den}) for the power {number.text}/{den})")


_GREEK_NAMES = frozenset(GREEK.values())


def _exponent_of_e(sig: list[Tok], n: int, text: str, adjacent: set[int],
                   declared: Callable[[str], bool],
                   error: Callable[[int, str], ParseError]) -> None:
    """``e^2x``, ``e^−λt``, ``e^πx``, ``e^-kt``: e^(2x) or e²·x? ``^`` takes the one number
    or name after it, and a paper means the whole product: refused, with both spellings
    (``e^x``, ``e^-x``, ``e^x y`` with a space are read)."""
    k = n + 1
    if sig[k].kind == "op" and sig[k].text in ("-", "+") and k + 1 < len(sig) \
            and id(sig[k + 1]) in adjacent:
        k += 1
    first = sig[k]
    if first.kind not in ("number", "name") or first.call or id(first) not in adjacent:
        return
    after = sig[k + 1] if k + 1 < len(sig) else None
    more = after is not None and id(after) in adjacent and after.kind in ("name", "number") \
        and not after.call
    split = first.kind == "name" and len(first.text) > 1 and text[first.at].isascii() \
        and not declared(first.text) and first.text not in _GREEK_NAMES  # kt, not alpha
    if not (more or split):
        return

    def stop(t: Tok) -> int:
        return t.end if t.end > t.at else t.at + len(t.text)
    written = text[sig[n + 1].at:stop(after if more and after is not None else first)]
    head = text[sig[n + 1].at:first.at + 1 if split else stop(first)]
    raise error(sig[n - 1].at, f"'e^{written}' is not read: write e^({written}) for the "
                f"exponential of {written}, or e^{head} followed by a space for e^{head} "
                "times the rest")


def _bars_text(toks: list[Tok], k: int, text: str) -> str:
    """The source of the bars opening at token ``k`` (``‖w‖²``, ``|x|``), up to the bar
    that closes them and a power right after it; ``‖…‖`` if they are not closed."""
    depth, close = 0, None
    for j in range(k + 1, len(toks)):
        u = toks[j]
        if u.kind == "op" and u.text == "(":
            depth += 1
        elif u.kind == "op" and u.text == ")":
            depth -= 1
        elif u.kind == toks[k].kind and depth == 0:
            close = j
            break
    if close is None:
        return "‖…‖" if toks[k].kind == "norm" else "|…|"
    end = close + 1  # and a power after it: ², ^2, ^{2}
    if end < len(toks) and toks[end].kind == "sup":
        end += 1
    elif end + 1 < len(toks) and toks[end].text == "**" and toks[end].call:
        end += 1
        if toks[end].kind == "number":
            end += 1
        elif toks[end].text == "(":
            depth = 0
            while end < len(toks):
                depth += {"(": 1, ")": -1}.get(toks[end].text, 0)
                end += 1
                if depth == 0:
                    break
    stop = toks[end].at if end < len(toks) else len(text)
    return text[toks[k].at:stop].rstrip()


def _root_at(toks: list[Tok], k: int) -> int:
    """Where the √ written before token ``k`` starts in the source."""
    at = max((t.at for t in toks[:k] if t.text == "sqrt" and t.call), default=toks[k].at)
    while any(t.text == "sqrt" and t.call and t.at == at - 1 for t in toks[:k]):
        at -= 1  # √√x: from the first √
    return at


def _power_end(toks: list[Tok], following: list[int], k: int, text: str) -> int:
    """Where the power that starts at token ``k`` (``²``, ``^2``, ``^{-1}``, ``**2``) ends
    in the source."""
    t = toks[k]
    if t.kind == "sup":
        return t.end if t.end > t.at else t.at + 1
    j = following[k]
    if j < len(toks) and toks[j].text == "(":
        depth = 0
        while j < len(toks):
            depth += {"(": 1, ")": -1}.get(toks[j].text, 0)
            if depth == 0:
                break
            j += 1
        return toks[j].at + 1 if j < len(toks) else len(text)
    if j < len(toks):
        nxt = toks[j]
        return nxt.end if nxt.end > nxt.at else nxt.at + len(nxt.text)
    return len(text)


def _square_ends(toks: list[Tok], following: list[int], at: int) -> int | None:
    """Where a square right after a norm ends (``²``, ``^2``, ``^{2}``), if one is there."""
    def text(j: int) -> str:
        return toks[j].text if j < len(toks) else ""

    if at < len(toks) and toks[at].kind == "sup" and toks[at].text == "2":
        return at
    if at < len(toks) and toks[at].text == "**" and toks[at].call:
        j = following[at] if at < len(following) else len(toks)
        if text(j) == "2":
            return j
        if text(j) == "(":
            j2 = following[j]
            j3 = following[j2] if j2 < len(toks) else len(toks)
            if text(j2) == "2" and text(j3) == ")":
                return j3
    return None
