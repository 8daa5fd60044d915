"""Hostile: ignores SIGTERM, prints ready and never a result."""

import json
import signal
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
print(json.dumps({"event": "ready", "listen": {"host": "127.0.0.1", "port": 45681}}), flush=True)
while True:
    time.sleep(1)
