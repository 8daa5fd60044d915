"""The SUT adapter contract: what the harness asks of an implementation under test.

One :class:`SutRequest` describes one test case's run of the SUT in one role: which
framework and transport, where to listen or connect, and the configuration named as
in the seed's tables 9.1.x (kpsaId, kpsaKey, thisEntityIdentifier,
otherEntityIdentifier, ...). An adapter turns it into a running SUT (a thread in
process, a shim command, or a server already running) and returns a
:class:`SutSession`; the session reports the SUT's own view in a :class:`SutResult`.

The same JSON shape is what the ``command`` adapter hands a shim (docs/adapter-contract.md).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


class Role(enum.StrEnum):
    ENTITY_A = "entity_a"  # the (D)TLS client, initiator of the association
    ENTITY_B = "entity_b"  # the (D)TLS server, responder
    MAF = "maf"
    MEF = "mef"
    BSF = "bsf"
    ENROLEE = "enrolee"


class Framework(enum.StrEnum):
    SAEF_PSK = "saef-psk"
    SAEF_CERT = "saef-cert"
    SAEF_MAF = "saef-maf"
    SAEF_GBA = "saef-gba"
    SBF_PSK = "sbf-psk"
    SBF_CERT = "sbf-cert"
    SBF_GBA = "sbf-gba"


class Transport(enum.StrEnum):
    TLS = "tls"
    DTLS = "dtls"


class Status(enum.StrEnum):
    ESTABLISHED = "established"  # the SUT completed the handshake and holds an association
    REFUSED = "refused"  # the SUT aborted the handshake / established nothing
    ERROR = "error"  # the SUT (or shim) failed for a reason of its own
    UNSUPPORTED = "unsupported"  # the SUT cannot run this configuration (not applicable)
    TIMEOUT = "timeout"  # the SUT said nothing within the bound
    UNKNOWN = "unknown"  # no observation channel (endpoint adapter)


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class ExportRequest:
    """An RFC 5705 exporter value the SUT is asked to report (observation channel)."""

    label: str
    length: int
    context: str | None = None  # hex; None = RFC 5705 "no context" form


@dataclass
class SutRequest:
    role: Role
    framework: Framework
    transport: Transport
    configuration: dict[str, Any]
    """Seed-named parameters. Entity A: kpsaId, kpsaKey (hex), thisEntityIdentifier (IdA),
    otherEntityIdentifier (IdB), otherEntityHostName (the SNI host name).
    Entity B: thisEntityIdentifier (IdB), hostName, authorizedEntities = list of
    {kpsaId, kpsaKey, otherEntityIdentifier (IdA)}."""
    cipher_suites: list[int]
    """The suites the SUT is to offer (A) or accept (B), in preference order."""
    connect: Address | None = None  # Entity A: where Entity B listens
    listen: Address | None = None  # Entity B: where to listen (port 0: choose one)
    timeout: float = 5.0
    exports: list[ExportRequest] = field(default_factory=list)
    test_case: str = ""  # the test purpose id, for the SUT's logs

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cipher_suites"] = [f"0x{s:04X}" for s in self.cipher_suites]
        for key in ("connect", "listen"):
            address = getattr(self, key)
            data[key] = None if address is None else {"host": address.host, "port": address.port}
        return data


@dataclass
class SutResult:
    """The SUT's own account of the run. Every field but status is optional."""

    status: Status
    cipher_suite: int | None = None
    peer_identity: str | None = None  # the identity the SUT bound the association to
    psk_identity: str | None = None  # the psk_identity it used (A) or received (B)
    alert: str | None = None  # an alert it sent or received, as the SUT names it
    keys: dict[str, str] = field(default_factory=dict)  # exporter label -> hex output
    detail: str = ""  # free text: why it refused, what failed

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.cipher_suite is not None:
            data["cipher_suite"] = f"0x{self.cipher_suite:04X}"
        return data


class SutSession(Protocol):
    """One running instance of the SUT for one test case."""

    def wait_ready(self, timeout: float) -> Address | None:
        """Block until the SUT is ready; return its listen address when it is a server."""

    def result(self, timeout: float) -> SutResult:
        """Block (bounded) until the SUT has finished the case and return its account."""

    def stop(self) -> None:
        """End the SUT instance; idempotent, never raises."""


class SutAdapter(Protocol):
    name: str

    def start(self, request: SutRequest) -> SutSession:
        """Start the SUT for one case. Raises harness.verdict.NotApplicable if it
        cannot play that role/framework/transport."""
