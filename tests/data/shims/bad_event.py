"""Hostile: prints one malformed event (first argument; the request file is the last: deep_result, long_result,
deep_ready, port_true, bad_keys), then exits 0."""

import json
import sys

mode = sys.argv[1]
if mode == "deep_result":
    line = (
        '{"event": "result", "status": "established", "legs": ' + "[" * 100000 + "]" * 100000 + "}"
    )
elif mode == "long_result":
    line = json.dumps({"event": "result", "status": "established", "detail": "z" * (2 << 20)})
elif mode == "deep_ready":
    line = '{"event": "ready", "listen": ' + "[" * 5000 + "]" * 5000 + "}"
elif mode == "port_true":
    line = json.dumps({"event": "ready", "listen": {"host": "127.0.0.1", "port": True}})
else:
    line = json.dumps(
        {"event": "result", "status": "established", "keys": {"A": "zz", "B": "ab cd", "C": ""}}
    )
print(line, flush=True)
