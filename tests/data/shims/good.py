"""A well-behaved fake shim: echoes the request back as a successful run."""

import json
import os
import sys

with open(sys.argv[1], encoding="utf-8") as f:
    request = json.load(f)
assert os.environ["M2MCONF_CONFIG"] == sys.argv[1]
print("plain text is kept as log", flush=True)
print(json.dumps({"event": "log", "message": f"cwd={os.getcwd()}"}), flush=True)
if request["listen"] is not None:
    print(
        json.dumps({"event": "ready", "listen": {"host": "127.0.0.1", "port": 45678}}), flush=True
    )
config = request["configuration"]
print(
    json.dumps(
        {
            "event": "result",
            "status": "established",
            "cipher_suite": request["cipher_suites"][0],
            "peer_identity": config.get("otherEntityIdentifier"),
            "psk_identity": config.get("kpsaId"),
            "alert": None,
            "keys": {e["label"]: "AB" * e["length"] for e in request["exports"]},
            "detail": request["test_case"],
        }
    ),
    flush=True,
)
