"""Build hook: KaTeX's files (npm ci, pinned by package-lock.json) travel with the package,
so ``d.html()`` typesets from ``pip install`` without a checkout or npm.

* the wheel carries them as ``symbackprop/_katex`` (script, style, woff2 fonts, licence);
* the sdist carries the same files where a checkout has them, ``node_modules/katex/``, so
  the wheel ``python -m build`` makes from the sdist finds them, and nothing else of npm's.

Either build is refused when KaTeX is missing or is not the version the lock pins: a wheel
without it would give users pages that cannot typeset. Editable installs skip the hook
(they find ``node_modules`` beside the code).

The metadata hook writes the description PyPI shows: README.md with ``pip install
symbackprop`` first (the README's own first commands are the development install and the
tests, run from a checkout) and no link that only works inside the repository: a relative
link becomes absolute against ``[project.urls] Source`` when the project declares one, and
otherwise plain text naming the file (an image, which would show broken, is left out).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

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


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc,type-arg]
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


PYPI_INSTALL = """\
```bash
pip install symbackprop
symbackprop derive "(x + y)**2" --wrt x
```

For development, from a checkout of the source:

"""

_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
_ABSOLUTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|#|/)", re.IGNORECASE)


def pypi_readme(readme: str, source: str | None) -> str:
    """README.md as PyPI shows it: ``pip install symbackprop`` before the development
    install, relative links absolute against ``source`` (a repository's web address) or,
    without one, plain text."""
    title, sep, rest = readme.partition("\n\n")
    if not title.startswith("# ") or not sep:
        raise ValueError("README.md must start with a '# title' line and a blank line")

    def link(m: re.Match[str]) -> str:
        image, text, target = m.groups()
        if _ABSOLUTE.match(target):
            return m.group(0)
        if source:
            kind = "raw" if image else "blob"
            return f"{image}[{text}]({source.rstrip('/')}/{kind}/HEAD/{target})"
        if image:
            return ""
        path = target.rstrip("/")
        return f"`{path}`" if text.strip("`/") == path else f"{text} (`{path}`)"

    body = _LINK.sub(link, rest)
    body = re.sub(r"\n{3,}", "\n\n", body)
    return f"{title}\n\n{PYPI_INSTALL}{body}"


class ReadmeMetadataHook(MetadataHookInterface):  # type: ignore[misc]
    def update(self, metadata: dict[str, Any]) -> None:
        readme = (Path(self.root) / "README.md").read_text(encoding="utf-8")
        source = metadata.get("urls", {}).get("Source")
        metadata["readme"] = {"content-type": "text/markdown",
                              "text": pypi_readme(readme, source)}
