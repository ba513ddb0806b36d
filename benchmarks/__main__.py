"""Run every benchmark, print the tables, write docs/performance.md and docs/performance.png.

    python -m benchmarks [--quick] [--only symbolic,scaling,emit,print,engine,check,hessian]
                         [--sympy-timeout 150] [--no-write]

Each figure is a ratio against a baseline measured in the same process (or in a child forked
from it), the median of several runs. BLAS is pinned to one thread (``benchmarks/__init__``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import pickle
import sys
import time
from pathlib import Path
from typing import Any

from . import report

PARTS = ("engine", "check", "symbolic", "scaling", "emit", "print", "hessian")
ROOT = Path(__file__).resolve().parent.parent


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_engine(quick: bool) -> tuple[str, float | None]:
    """The numeric engineer's ``benchmarks/bench_engine.py``, called as it is."""
    if importlib.util.find_spec("benchmarks.bench_engine") is None:
        return ("`benchmarks/bench_engine.py` is not there yet: this section is its hook "
                "(`python -m benchmarks` calls its `main(argv)` and shows what it prints).",
                None)
    from . import bench_engine

    argv = ["--repeats", "5", "--number", "3"] if quick else []
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            ratio = bench_engine.main(argv)
    except Exception as e:  # another engineer's script: report, do not stop
        return f"`bench_engine.main` failed: {type(e).__name__}: {e}\n\n{buf.getvalue()}", None
    return "```text\n" + buf.getvalue().rstrip() + "\n```", float(ratio) if ratio else None


def run_hessian(quick: bool) -> tuple[str, float]:
    """``benchmarks/bench_hessian.py``: the symbolic Hessian against the frameworks."""
    from . import bench_hessian

    argv = ["--sizes", "100,300", "--repeats", "3"] if quick else []
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        worst = bench_hessian.main(argv)
    return ("½xᵀAx + Σ log(1 + e^{Wx}) and Σ tanh(Wx) (W n × n), and logistic regression "
            "(m = 2,000 samples); float64, one thread; each Hessian first compared with a "
            "closed form written by hand; times as ratios of that hand-written NumPy "
            "(`python -m benchmarks.bench_hessian`).\n\n" + buf.getvalue().rstrip()), worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    ap.add_argument("--only", default=",".join(PARTS), help="comma-separated: " + ",".join(PARTS))
    ap.add_argument("--sympy-timeout", type=float, default=150.0,
                    help="seconds per case for the per-parameter sympy.diff baseline")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--save", metavar="FILE", help="also pickle the results to FILE")
    ap.add_argument("--load", metavar="FILE",
                    help="re-render docs/performance.md from results pickled by --save")
    args = ap.parse_args(argv)
    if args.load:
        with open(args.load, "rb") as fh:
            saved = pickle.load(fh)
        return write(saved["sections"], saved["results"], saved["parts"], saved["command"],
                     saved["elapsed"])
    parts = [p for p in args.only.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        ap.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    t_start = time.perf_counter()
    sections: dict[str, str] = {}
    results: dict[str, Any] = {}

    if "engine" in parts:
        log("4. numeric engine (benchmarks/bench_engine.py) ...")
        text, ratio = run_engine(args.quick)
        sections["engine"] = text
        results["engine"] = ratio
        print("\n## 4. Numeric engine\n\n" + text, flush=True)
    if "check" in parts:
        from . import bench_check

        if bench_check.available():
            log("5. checks at scale ...")
            c = bench_check.run(repeats=1 if args.quick else 3, log=log)
            sections["check"] = report.check_table(c)
            results["check"] = c
        else:
            sections["check"] = "`symbackprop/check/` is not there yet (hook)."
        print("\n## 5. Checks at scale\n\n" + sections["check"], flush=True)
    if "symbolic" in parts:
        from . import bench_symbolic

        log("1-2. symbolic size and time (baselines in child processes) ...")
        cases = bench_symbolic.run(args.quick, args.sympy_timeout, log=log)
        results["symbolic"] = cases
        sections["size"] = report.size_table(cases)
        sections["time"] = report.time_table(cases)
        sections["per_parameter"] = report.per_parameter_table(cases)
        print("\n## 1. Size of the derivation\n\n" + sections["size"], flush=True)
        print("\n## 2. Time to derive\n\n" + sections["time"], flush=True)
        print("\n## 2a. Derive per parameter\n\n" + sections["per_parameter"], flush=True)
    if "scaling" in parts:
        from . import bench_scaling

        log("2. scaling: time per node ...")
        pts = bench_scaling.run(args.quick, log=log)
        results["scaling"] = pts
        sections["scaling"] = report.scaling_table(pts)
        print("\n## 2b. Time per node\n\n" + sections["scaling"], flush=True)
    if "emit" in parts:
        from . import bench_emit

        log("3. emission ...")
        em = bench_emit.run(args.quick, log=log)
        results["emit"] = em
        sections["emit"] = report.emission_table(em)
        print("\n## 3. Emission\n\n" + sections["emit"], flush=True)
    if "print" in parts:
        from . import bench_print

        log("3b. printing against deriving ...")
        pc = bench_print.run(repeats=3 if args.quick else 5, log=log)
        results["print"] = pc
        sections["print"] = report.print_table(pc)
        print("\n## 3b. Printing against deriving\n\n" + sections["print"], flush=True)

    if "hessian" in parts:
        log("6. second order ...")
        sections["hessian"], results["hessian"] = run_hessian(args.quick)
        print("\n## 6. Second order\n\n" + sections["hessian"], flush=True)

    elapsed = time.perf_counter() - t_start
    results["machine"] = report.machine()  # as it was at the end of the run
    shown = list(argv if argv is not None else sys.argv[1:])
    if "--save" in shown:  # where the pickle went is not part of the measurement
        i = shown.index("--save")
        del shown[i:i + 2]
    command = ("python -m benchmarks " + " ".join(shown)).rstrip()
    if args.save:
        with open(args.save, "wb") as fh:
            pickle.dump({"sections": sections, "results": results, "parts": parts,
                         "command": command, "elapsed": elapsed}, fh)
    if args.no_write:
        return 0
    return write(sections, results, parts, command, elapsed)


def write(sections: dict[str, str], results: dict[str, Any], parts: list[str], command: str,
          elapsed: float) -> int:
    # the tables again from the results: a re-render (--load) shows the current layout
    if "symbolic" in results:
        sections["size"] = report.size_table(results["symbolic"])
        sections["time"] = report.time_table(results["symbolic"])
        sections["per_parameter"] = report.per_parameter_table(results["symbolic"])
    if "print" in results:
        sections["print"] = report.print_table(results["print"])
    if "scaling" in results:
        sections["scaling"] = report.scaling_table(results["scaling"])
    if "emit" in results:
        sections["emit"] = report.emission_table(results["emit"])
    if results.get("check") is not None:
        sections["check"] = report.check_table(results["check"])
    figure = False
    if {"symbolic", "scaling", "emit"} <= set(parts):
        figure = report.plot(str(ROOT / "docs" / "performance.png"), results["scaling"],
                             results["emit"], results["symbolic"])
    doc = report.document(sections, results, command=command, elapsed=elapsed, figure=figure)
    out = ROOT / "docs" / "performance.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(doc, encoding="utf-8")
    log(f"wrote {out.relative_to(ROOT)}" + (" and docs/performance.png" if figure else "")
        + f" in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
