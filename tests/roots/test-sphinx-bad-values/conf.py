extensions = ["symbackprop.sphinx"]
project = "sphinx-bad-values"
exclude_patterns = ["_build"]
