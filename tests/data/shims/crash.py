"""Crashes with a traceback: a shim error, with the last stderr lines in the detail."""

import sys

print("about to fail", file=sys.stderr)
raise RuntimeError("shim exploded")
