"""A SUT that listens, takes every connection and never says a word (nor a result)."""

import contextlib
import json
import pathlib
import socket
import sys
import time

request = json.loads(pathlib.Path(sys.argv[1]).read_text())
server = socket.socket()
server.bind((request["listen"]["host"], request["listen"]["port"]))
server.listen(8)
host, port = server.getsockname()[:2]
print(json.dumps({"event": "ready", "listen": {"host": host, "port": port}}), flush=True)
server.settimeout(1.0)
end = time.monotonic() + 60
held = []
while time.monotonic() < end:
    with contextlib.suppress(TimeoutError):
        held.append(server.accept()[0])  # keep it open, read nothing, answer nothing
