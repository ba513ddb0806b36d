"""Repository tools that are not part of the installed package (the gallery builder runs
Chromium and Graphviz's dot)."""
