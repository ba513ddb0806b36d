extensions = ["symbackprop.sphinx"]
project = "sphinx-refs-dims"
exclude_patterns = ["_build"]
latex_documents = [("index", "refs.tex", "Refs", "Test", "howto")]
