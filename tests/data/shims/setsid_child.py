"""Hostile: starts a child in its own session (setsid) that keeps stdout and stderr
open and outlives the shim's process group; prints ready and a result, then exits.
The child writes its pid to the file named by the first argument."""

import json
import subprocess
import sys

child = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
)
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write(str(child.pid))
print(json.dumps({"event": "ready", "listen": {"host": "127.0.0.1", "port": 45680}}), flush=True)
print(json.dumps({"event": "result", "status": "established"}), flush=True)
