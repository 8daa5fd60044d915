"""Prints ready, then hangs without a result; a child in its group hangs too."""

import json
import subprocess
import sys
import time

subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(json.dumps({"event": "ready", "listen": {"host": "127.0.0.1", "port": 45679}}), flush=True)
time.sleep(60)
