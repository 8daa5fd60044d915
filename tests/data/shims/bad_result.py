"""Prints a result event with an invalid status."""

import json

print(json.dumps({"event": "result", "status": "great", "cipher_suite": "0x00AE"}), flush=True)
