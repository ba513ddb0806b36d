"""The version, in one place (the package, the CLI and Sphinx read it)."""

__version__ = "0.1.0"
