extensions = ["symbackprop.sphinx"]
project = "backprop-errors"
exclude_patterns = ["_build"]
