"""Wheel build hook: KaTeX's files (from the npm lock, ``npm ci``) go into the wheel as
``symbackprop/_katex``, so ``d.html()`` works from ``pip install`` without a checkout.

Editable installs skip it (they find ``node_modules`` beside the code). A wheel built
without ``node_modules/katex`` is refused: it would give users HTML pages that cannot
typeset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

FILES = ("katex.min.css", "katex.min.js")


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        dist = root / "node_modules" / "katex" / "dist"
        if not all((dist / f).is_file() for f in FILES):
            raise RuntimeError("building a wheel needs KaTeX: run `npm ci` first "
                               "(package-lock.json pins it)")
        include = build_data.setdefault("force_include", {})
        for f in FILES:
            include[str(dist / f)] = f"symbackprop/_katex/{f}"
        for font in sorted((dist / "fonts").glob("*.woff2")):
            include[str(font)] = f"symbackprop/_katex/fonts/{font.name}"
        include[str(root / "node_modules" / "katex" / "LICENSE")] = \
            "symbackprop/_katex/LICENSE"
