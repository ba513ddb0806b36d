"""Hand-written parts of docs/performance.md: findings that need words, and the core changes."""

NOTES = """\
## Notes

(To be filled in after the first full run.)
"""

CHANGES = """\
## Changes to the core made for these numbers

(None yet.)
"""
