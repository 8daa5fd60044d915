"""NSS key log lines (the format SSLKEYLOGFILE uses) from a connection's trace.

``CLIENT_RANDOM <client_random hex> <master_secret hex>`` lets Wireshark decrypt the
recorded wire chunks of a TLS 1.2 run; the engine adds the line to ``Trace.keylog`` as
soon as it knows the master secret. (The report package writes trace files with these
lines; this is the engine-side writer for a single connection or a list of traces.)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.tls.trace import Trace

HEADER = "# NSS key log written by m2mconf (TLS 1.2: CLIENT_RANDOM <client_random> <master_secret>)"


def keylog_line(client_random: bytes, master_secret: bytes) -> str:
    if len(client_random) != 32 or len(master_secret) != 48:
        raise ValueError(
            "CLIENT_RANDOM needs a 32-octet client_random and a 48-octet master_secret"
        )
    return f"CLIENT_RANDOM {client_random.hex()} {master_secret.hex()}"


def keylog_text(traces: Iterable[Trace]) -> str:
    """All distinct key log lines of the traces, in order, with a comment header."""
    lines: list[str] = []
    for trace in traces:
        lines += [line for line in trace.keylog if line not in lines]
    return "\n".join([HEADER, *lines]) + "\n"


def write_keylog(path: str | Path, traces: Iterable[Trace]) -> Path:
    target = Path(path)
    target.write_text(keylog_text(traces))
    return target
