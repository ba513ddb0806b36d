extensions = ["symbackprop.sphinx"]
project = "backprop-test"
exclude_patterns = ["_build"]
latex_documents = [("index", "backprop.tex", "Backprop", "Test", "howto")]
