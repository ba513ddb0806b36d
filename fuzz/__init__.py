"""Fuzzers for the text front end (``python -m fuzz.fuzz_parse --seconds 60``)."""
