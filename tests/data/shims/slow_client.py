"""Slow: records its pid and its child's (one in its group, one that left it with
setsid) in the folder named by the first argument, then waits without a result, so a
campaign over it can be interrupted mid-case. The request file is the last argument."""

import os
import subprocess
import sys
import time

folder = sys.argv[1]
sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
children = [subprocess.Popen(sleeper), subprocess.Popen(sleeper, start_new_session=True)]
for pid in (os.getpid(), *(c.pid for c in children)):
    with open(os.path.join(folder, f"{pid}.pid"), "w", encoding="ascii") as f:
        f.write(sys.argv[-1])  # the request file this process was started for
time.sleep(120)
