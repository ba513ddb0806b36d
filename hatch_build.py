"""Build hook: KaTeX's files (npm ci, pinned by package-lock.json) travel with the package,
so ``d.html()`` typesets from ``pip install`` without a checkout or npm.

* the wheel carries them as ``symbackprop/_katex`` (script, style, woff2 fonts, licence);
* the sdist carries the same files where a checkout has them, ``node_modules/katex/``, so
  the wheel ``python -m build`` makes from the sdist finds them, and nothing else of npm's.

Either build is refused when KaTeX is missing or is not the version the lock pins: a wheel
without it would give users pages that cannot typeset. Editable installs skip the hook
(they find ``node_modules`` beside the code).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

FILES = ("katex.min.css", "katex.min.js")


def katex_files(root: Path) -> dict[Path, str]:
    """KaTeX's files the page needs, each with its path inside ``node_modules/katex``."""
    pkg = root / "node_modules" / "katex"
    dist = pkg / "dist"
    if not all((dist / f).is_file() for f in FILES):
        raise RuntimeError("building symbackprop needs KaTeX: run `npm ci` first "
                           "(package-lock.json pins it)")
    lock = json.loads((root / "package-lock.json").read_text(encoding="utf-8"))
    pinned = lock["packages"]["node_modules/katex"]["version"]
    found = json.loads((pkg / "package.json").read_text(encoding="utf-8"))["version"]
    if found != pinned:
        raise RuntimeError(f"node_modules has KaTeX {found} but package-lock.json pins "
                           f"{pinned}: run `npm ci`")
    files = {dist / f: f"dist/{f}" for f in FILES}
    fonts = sorted((dist / "fonts").glob("*.woff2"))
    if not fonts:
        raise RuntimeError(f"no KaTeX fonts in {dist / 'fonts'}: run `npm ci`")
    files.update({font: f"dist/fonts/{font.name}" for font in fonts})
    files[pkg / "LICENSE"] = "LICENSE"
    files[pkg / "package.json"] = "package.json"
    return files


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        files = katex_files(Path(self.root))
        include = build_data.setdefault("force_include", {})
        for src, rel in files.items():
            if self.target_name == "sdist":
                include[str(src)] = f"node_modules/katex/{rel}"
            elif self.target_name == "wheel" and rel != "package.json":
                include[str(src)] = "symbackprop/_katex/" + rel.removeprefix("dist/")
