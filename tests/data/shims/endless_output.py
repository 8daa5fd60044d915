"""Hostile: prints without end and never a ready event. Mode (first argument; the request file is the last):
"lines" (short log lines), "line" (one line that never ends), "stderr" (to stderr)."""

import sys

mode = sys.argv[1] if len(sys.argv) > 2 else "lines"
out = sys.stderr.buffer if mode == "stderr" else sys.stdout.buffer
chunk = (b"x" * 60 + b"\n") * 1000 if mode != "line" else b"y" * 65536
while True:
    out.write(chunk)
