"""NSS key log files (``CLIENT_RANDOM <client_random> <master_secret>``) per purpose.

Wireshark reads this format (``tls.keylog_file``) to decrypt the pcap written beside
it; OpenSSL's ``-keylogfile`` and GnuTLS's ``SSLKEYLOGFILE`` write the same lines.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from harness.tls.trace import Trace

HEADER = "# NSS key log (SSLKEYLOGFILE format) written by m2mconf\n"


def keylog_lines(traces: Iterable[Trace]) -> list[str]:
    """Every distinct key log line of the traces, in order."""
    return list(dict.fromkeys(line.strip() for t in traces for line in t.keylog if line.strip()))


def write_keylog(traces: Iterable[Trace], path: Path) -> bool:
    """Write the key log; False (and no file) when no trace learnt a master_secret."""
    lines = keylog_lines(traces)
    if not lines:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    # Master secrets: readable by the owner only (0600), also when the file existed.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(HEADER + "\n".join(lines) + "\n")
    return True
