"""The command line: ``symbackprop derive TEXT`` and ``symbackprop check TEXT``.

Bad input gets one line on stderr and exit code 2 (``--debug`` shows the traceback);
``check`` exits 1 when the numbers disagree; an internal error is one line and exit code 3.
The resource limits are flags (``--max-length``, ``--max-depth``, ``--max-nodes``,
``--max-int-bits``, ``--max-exponent``, ``--max-name-length``, ``--max-elements``); shapes
are checked against ``--max-elements`` before anything is derived. When the reader of stdout
goes away (``symbackprop derive ... | head -1``) the command stops quietly with exit code
141, as a program killed by SIGPIPE does; when stderr is closed the message is lost but the
exit code is still 2 or 3; a closed stdin (``derive -``) or stdout, or a full stdout
(``--help > /dev/full``), is exit 2 with one line. An expression that starts with ``-`` goes
last, after ``--`` (``symbackprop derive --wrt x -- "-x**2"``); a file or stdin saved with
a UTF-8 byte-order mark is read without it. What ``derive`` writes ends with one newline, on
stdout as in a file.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import stat
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from .emit import FORMATS
from .emit.html import check_katex_folder, copy_katex
from .emit.sections import SECTIONS, chosen
from .errors import ParseError, ShapeError, SymbackpropError
from .limits import Limits
from .specs import COMMAND, parse_shape, point, trace_dims
from .version import __version__

if TYPE_CHECKING:
    pass


_EPILOG = """examples:
  symbackprop derive "(x + y)^2" --wrt x
  symbackprop derive "W2·σ(W1x + b1) + b2" --shape W1=4x3 --shape x=3 --shape b1=4 \\
      --shape W2=2x4 --shape b2=2 --loss mse --format markdown -o note.md
  symbackprop derive --syntax latex '\\frac{1}{2}(x + y)^2' --format text
  echo "sum(tanh(W @ X))" | symbackprop check - --shape W=3x4 --shape X=4xB
  symbackprop derive --format text -- "-x**2"    (after --: text that starts with -)

exit codes: 0 done (check: every gradient agrees); 1 check found a mismatch;
  2 the input was refused (the message says why); 3 an internal error (please report it)"""

# API spellings in messages, as the command line spells them
_FLAGS = (("loss='mse'", "--loss mse"), ("loss='cross_entropy'", "--loss cross_entropy"),
          ("syntax='latex'", "--syntax latex"))
_LIMIT = re.compile(r"Limits\.max_(\w+)")
_LOSS_IN_TEXT = re.compile(r"\bloss\s*=")  # an API keyword typed into the expression
# characters pasted from documents that look like an operator the text language has
_LOOKALIKE = {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
              "\u2015": "-", "\ufe63": "-", "\uff0d": "-", "\u2217": "*", "\u204e": "*",
              "\uff0a": "*", "\u2044": "/", "\u2215": "/", "\uff0f": "/", "\uff0b": "+"}
_REFUSED = re.compile(r"character '(.)' \(U\+[0-9A-F]+\) is not allowed")
_MODULE_CALL = re.compile(r"\b(?:np|numpy|math|torch|sp|sympy|scipy|jax|jnp|F)(?:\.\w+)+\s*\(")
_CALL_NAMED = re.compile(r"^\s*[A-Za-z_]\w*\s*\([^()]*\)\s*=(?!=)")


def _hint(e: ParseError, text: str) -> str:
    """A hint in the words of someone pasting from a paper, MATLAB or NumPy code."""
    m = _REFUSED.search(str(e))
    if m and m.group(1) in _LOOKALIKE:
        return f"; did you mean {_LOOKALIKE[m.group(1)]!r}?"
    if ".^" in text:
        return "; a power is ** or ^ (.^ is MATLAB's)"
    if _MODULE_CALL.search(text):
        return "; write a function by its name alone, as in sin(x)"
    if any(_CALL_NAMED.match(line) for line in re.split(r"[;\n]", text)):
        return "; a stage is named without arguments, as in f = x**2"
    return ""


_DASH_HINT = ("; an expression that starts with '-' goes last, after -- (which ends the "
              "flags): symbackprop derive --format text -- '-x**2'")


class _Parser(argparse.ArgumentParser):
    """argparse, with a hint when an expression starting with ``-`` was read as a flag."""

    def error(self, message: str) -> Any:  # argparse's own: usage, the message, exit 2
        words = message.partition("unrecognized arguments:")[2].split()
        if any(w.startswith("-") and not re.fullmatch(r"--[a-z][a-z-]*(=.*)?", w)
               for w in words):
            message += _DASH_HINT
        super().error(message)

    def _print_message(self, message: str, file: Any = None) -> None:
        """argparse's own swallows a failed write (``--help > /dev/full`` exited 0): here
        the error reaches ``main``, which exits 2 as for any other write that fails (a
        closed pipe: quietly, 141)."""
        if not message:
            return
        file = file or sys.stderr
        if file is None:  # stdout and stderr both closed: nowhere to say it
            return
        file.write(message)
        file.flush()


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="symbackprop", description="Readable, verified backpropagation derivations.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--version", action="version", version=f"symbackprop {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp_: argparse.ArgumentParser) -> None:
        sp_.add_argument("text", nargs="?", help='the expression, e.g. "(x + y)**2"; stages '
                         "with ; or newlines; - reads it from stdin")
        sp_.add_argument("--file", metavar="PATH", help="read the expression from PATH")
        sp_.add_argument("--wrt", action="append", metavar="NAME",
                         help="a variable to differentiate in (repeatable; default: every input)")
        sp_.add_argument("--shape", action="append", default=[], metavar="NAME=RxC",
                         help="a shape: W1=4x3, x=3 (a column vector), W=mxn (symbolic)")
        sp_.add_argument("--syntax", choices=("text", "latex"), default="text",
                         help="how the expression is written: the text language (also with "
                         "paper notation: ^, ·, σ, W1x) or LaTeX")
        sp_.add_argument("--loss", choices=("mse", "cross_entropy"),
                         help="append a loss against a target y shaped like the output")
        sp_.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show tracebacks")
        lim = sp_.add_argument_group("limits on the text and the sizes (defaults suit a web "
                                     "service)")
        for f in fields(Limits):
            flag = "--" + f.name.replace("_", "-")
            lim.add_argument(flag, type=_positive, metavar="N", default=None, dest=f.name,
                             help=f"{_LIMIT_HELP[f.name]} (default {f.default:,})")

    d = sub.add_parser("derive", help="print the derivation",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
    common(d)
    d.add_argument("--format", choices=list(FORMATS), default="latex",
                   help="latex (an aligned block, the default), markdown (a lecture note), "
                   "html (a page typeset with KaTeX), json, dot (Graphviz), python (NumPy "
                   "code), torch or jax (an autograd.Function / a custom_vjp with the derived "
                   "backward) or text (Unicode, for a terminal)")
    d.add_argument("--layout", choices=("denominator", "numerator"), default="denominator",
                   help="the Jacobian convention of the chain (default: denominator, the "
                   "gradient's shape)")
    d.add_argument("--adjoint", choices=("frac", "bar", "delta"), default="frac",
                   help="how an adjoint is written: \\frac{\\partial L}{\\partial v}, "
                   "\\bar v, or \\delta_v (default: frac)")
    d.add_argument("--mode", choices=("reverse", "forward"), default="reverse",
                   help="reverse: the backward (adjoint) equations; forward: the tangent "
                   "equations of forward mode, one per --wrt variable's direction "
                   "(default: reverse)")
    d.add_argument("--granularity", choices=("auto", "primitive", "layers", "stages"),
                   default="auto", help="one equation per primitive, per layer, or per stage "
                   "you wrote (default: auto)")
    d.add_argument("--assets", choices=("inline", "link", "cdn"), default=None,
                   help="--format html: KaTeX inlined into the page (the default; one file "
                   "that works offline), linked from _katex/ beside it (copied there with "
                   "-o FILE), or linked from a CDN (a small page that needs the network)")
    d.add_argument("--sections", metavar="NAME[,NAME]", default=None,
                   help="--format latex, markdown or html: the sections to print, in order, "
                   f"from {', '.join(SECTIONS)} (default: the format's own choice)")
    d.add_argument("-o", "--output", metavar="FILE",
                   help="write to FILE instead of stdout (- is stdout)")
    c = sub.add_parser("check", help="verify the gradients numerically; exit 1 on a mismatch",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
    common(c)
    c.add_argument("--seed", type=int, default=0,
                   help="the seed of the random point the gradients are compared at "
                   "(default: 0)")
    c.add_argument("--value", action="append", default=[], metavar="NAME=NUMBER",
                   help="a scalar input's value at the point (repeatable; the arrays are "
                   "drawn at random from --seed): x=2e6 for sqrt(x - 1e6)")
    return p


T = TypeVar("T")


def _once(pairs: Iterable[tuple[str, T]], flag: str, error: type[Exception]) -> dict[str, T]:
    """``(name, value)`` pairs of a repeated flag as a dict; a name given twice with two
    values is refused (never a silent last-one-wins), the same value twice is one."""
    given: dict[str, T] = {}
    for name, value in pairs:
        if name in given and given[name] != value:
            raise error(f"{flag} gives {name} twice: {given[name]!r} and {value!r}")
        given[name] = value
    return given


def _shapes(specs: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    return _once((parse_shape(s) for s in specs), "--shape", ShapeError)


_LIMIT_HELP = {
    "max_length": "characters of text", "max_depth": "nesting depth",
    "max_nodes": "syntax nodes", "max_int_bits": "bits in an integer or fraction",
    "max_exponent": "size of a numeric exponent", "max_name_length": "characters in a name",
    "max_elements": "entries of one array, and of all of a derivation's arrays together",
}


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be at least 1")
    return v


def _limits(args: argparse.Namespace) -> Limits:
    given = {f.name: getattr(args, f.name) for f in fields(Limits)
             if getattr(args, f.name, None) is not None}
    return Limits(**given)


def _printable(text: str) -> str:
    """Echo of user text on a terminal: a character that does not print (controls, escape
    sequences, zero-width and direction marks) as an escape (``\\u202e``); ``σ`` or ``у``
    as itself (a narrow terminal gets an escape from the stream's ``backslashreplace``)."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def _source_text(args: argparse.Namespace, limits: Limits) -> str:
    """The expression: the argument, stdin for ``-``, or ``--file``; never more than
    ``limits.max_length`` + 1 characters are read (the parser refuses the rest)."""
    if args.file is not None and args.text is not None:
        raise ValueError("give the expression or --file, not both")
    if args.file is not None:
        with open(args.file, encoding="utf-8") as f:
            return _read_text(f, limits.max_length + 1)
    if args.text is None:
        raise ValueError("no expression: give it as an argument, - for stdin, or --file")
    if args.text == "-":
        if sys.stdin is None:  # fd 0 was closed when Python started (`<&-`)
            raise ValueError("stdin is closed: there is no expression to read for -")
        return _read_text(sys.stdin, limits.max_length + 1)
    return str(args.text)


BOM = "\ufeff"


def _read_text(stream: Any, n: int) -> str:
    """Up to ``n`` characters of ``stream``, without the byte-order mark an editor on Windows
    puts at the start of a UTF-8 file (the mark is not counted)."""
    text = str(stream.read(n))
    if text.startswith(BOM):
        text = text[1:] + str(stream.read(1))
    return text


def run(args: argparse.Namespace) -> int:
    from .derive import derive
    from .evaluate import check_sizes
    from .values import check_shape_sizes

    shapes = _shapes(args.shape)
    limits = _limits(args)
    args.text = _source_text(args, limits)
    check_shape_sizes(shapes, limits)  # before anything is made from them
    to_file = args.command == "derive" and bool(args.output) and args.output != "-"
    if not to_file:
        _stdout()  # nowhere to write the result: refused before any work
    if args.command == "derive":
        d = derive(args.text, wrt=args.wrt, shapes=shapes or None, loss=args.loss,
                   layout=args.layout, adjoint=args.adjoint, granularity=args.granularity,
                   limits=limits, syntax=args.syntax, mode=args.mode)
        check_sizes(d, limits=limits)  # what its numbers would hold (x @ x.T of a long x)
        if args.assets is not None and args.format != "html":
            raise ValueError(f"--assets is for --format html, not --format {args.format}")
        sections = None if args.sections is None else \
            chosen([s.strip() for s in args.sections.split(",")])
        if sections is not None and args.format not in ("latex", "markdown", "html"):
            raise ValueError(f"--sections is for --format latex, markdown or html, not "
                             f"--format {args.format}")
        if args.format == "html":
            text = d.html(sections, assets=args.assets or "inline")
        elif sections is not None:
            text = d.latex(sections) if args.format == "latex" else d.markdown(sections)
        else:
            text = d.to(args.format)
        if to_file:
            _write_output(args.output, text if text.endswith("\n") else text + "\n",
                          args.assets == "link")
        else:
            if args.assets == "link":
                _to_stderr("symbackprop: note: the page links KaTeX from _katex/ beside it: "
                           "copy it there (-o FILE does), or use --assets inline")
            # one newline at the end, as -o writes; print's second write ("\n") is what
            # meets a pipe closed during the first (a partial write raises nothing)
            print(text.removesuffix("\n"))
            sys.stdout.flush()  # a closed pipe shows here, inside main's handler
        return 0
    given = _values(args.value)  # before the work: a bad --value is refused at once
    d = derive(args.text, wrt=args.wrt, shapes=shapes or None, loss=args.loss, limits=limits,
               syntax=args.syntax)
    check_sizes(d, limits=limits)
    # named dimensions (X=3xB) get the sizes check() would draw for them
    at = point(d, given, args.seed, trace_dims(d, {}, COMMAND), COMMAND) if given else None
    report = d.check(at, seed=args.seed)
    print(report)
    sys.stdout.flush()
    if not given and any(r.status == "domain" for r in report.rows):
        _to_stderr("symbackprop: note: the points tried are outside the function's domain; "
                   "give one with --value NAME=NUMBER")
    return 0 if report.ok else 1


def _stdout() -> None:
    """stdout closed when Python started (``>&-``): sys.stdout is None, and print would
    write nothing and still exit 0. Refused with a message, exit 2."""
    if sys.stdout is None:
        raise ValueError("stdout is closed: there is nowhere to write the result (use -o FILE "
                         "for derive)")


def _write_output(path: str, text: str, link_assets: bool) -> None:
    """``-o FILE``; with ``--assets link`` KaTeX's files go into ``_katex/`` beside it, only
    beside a regular file (``-o /dev/null`` made ``/dev/_katex``), never through a symbolic
    link (a ``_katex`` link is refused before the page is written)."""
    katex = os.path.join(os.path.dirname(os.path.abspath(path)), "_katex")
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        regular = True  # open() makes a regular file
    if link_assets and regular:
        check_katex_folder(katex)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        regular = regular and stat.S_ISREG(os.fstat(f.fileno()).st_mode)
    if link_assets and regular:
        copy_katex(katex)
    elif link_assets:
        _to_stderr(f"symbackprop: note: {_printable(path)} is not a regular file: KaTeX's "
                   "files are not copied beside it (the page links them from _katex/); use "
                   "--assets inline")


def _number(spec: str) -> tuple[str, float]:
    """``--value x=2e6``: a name and a finite number (float() of the text; nothing is
    evaluated)."""
    name, eq, text = spec.partition("=")
    try:
        if not eq or not name.strip():
            raise ValueError
        number = float(text)
    except ValueError:
        raise ValueError(f"--value takes NAME=NUMBER (x=2e6), not {spec!r}") from None
    if not math.isfinite(number):  # 1e400 is inf; nan and inf say nothing about a gradient
        raise ValueError(f"--value {spec!r}: a value must be a finite number (float64 holds "
                         "magnitudes up to about 1.8e308)")
    return name.strip(), number


def _values(specs: Sequence[str]) -> dict[str, float]:
    """Every ``--value``, each name once (``_once``)."""
    return _once((_number(spec) for spec in specs), "--value", ValueError)


SIGPIPE_EXIT = 141  # 128 + SIGPIPE: what the shell reports for `yes | head -1`'s yes


def _pipe_closed() -> int:
    """stdout's reader is gone: no message, and no second error when Python flushes stdout
    at exit (stdout is pointed at /dev/null)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (a test's capture)
        pass
    return SIGPIPE_EXIT


def _escape_what_the_terminal_cannot_show() -> None:
    """On an ASCII or other narrow stdout (``PYTHONIOENCODING=ascii``), ``—`` or ``∂`` is
    written as an escape (``\u2014``) instead of failing the whole command."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a closed or odd stream
                reconfigure(errors="backslashreplace")


def _to_stderr(line: str | None = None) -> None:
    """A message (or, with None, the current traceback) on stderr; when stderr is closed or
    full, nothing, so the exit code stays the documented one (it was 1, which means "check
    found a mismatch"), and no second error when Python flushes stderr at exit."""
    if sys.stderr is None:  # fd 2 was closed when Python started: print would use stdout
        return
    try:
        if line is None:
            traceback.print_exc(file=sys.stderr)
        else:
            print(line, file=sys.stderr)
        sys.stderr.flush()
    except (OSError, ValueError):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
        except (OSError, ValueError):
            pass


def main(argv: Sequence[str] | None = None) -> int:
    _escape_what_the_terminal_cannot_show()
    try:
        args = _parser().parse_args(argv)
    except BrokenPipeError:  # --help | head -1
        return _pipe_closed()
    except (OSError, ValueError) as e:  # --help > /dev/full
        _to_stderr(f"symbackprop: error: {_printable(str(e).strip() or type(e).__name__)}")
        return 2
    try:
        return run(args)
    except BrokenPipeError:
        return _pipe_closed()
    except (SymbackpropError, ValueError, TypeError, KeyError, OSError, RecursionError,
            MemoryError) as e:
        if args.debug:  # the traceback, and still the exit code of bad input
            _to_stderr()
            return 2
        kind = type(e).__name__ if isinstance(e, SymbackpropError) else "error"
        if isinstance(e, (RecursionError, MemoryError)):
            msg = "the input is too large or too deep to handle; see docs/security.md"
        else:
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        for api, flag in _FLAGS:  # the message's words, never the user's echoed text
            msg = msg.replace(api, flag)
        msg = _LIMIT.sub(lambda m: "--max-" + m.group(1).replace("_", "-"), msg)
        if isinstance(e, ParseError) and e.text is not None and e.column and "\n" not in e.text:
            msg += f": {e.text[:80]}"
        text = str(getattr(args, "text", None) or "")
        if isinstance(e, ParseError) and _LOSS_IN_TEXT.search(text):
            msg += "; to add a loss, use --loss mse or --loss cross_entropy"
        elif isinstance(e, ParseError):
            msg += _hint(e, text)
        _to_stderr(f"symbackprop: {kind}: {_printable(msg)}")
        return 2
    except Exception as e:  # a bug of ours: still one line, and a different exit code
        if args.debug:
            _to_stderr()
            return 3
        _to_stderr(f"symbackprop: internal error: {type(e).__name__}: "
                   f"{_printable(str(e).strip()[:200].splitlines()[0] if str(e).strip() else '')} "
                   "(--debug shows the traceback; please report it)")
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
