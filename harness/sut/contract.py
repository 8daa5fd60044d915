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
    MAF = "maf"  # M2M Authentication Function: hands out Kc (SAEF-MAF), Km (SBF)
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

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port}


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
    peers: dict[str, Address] = field(default_factory=dict)
    """Every harness party the SUT contacts, by its role: ``entity_b`` (the same address
    as ``connect``), ``maf``, ... A framework with one peer needs only ``connect``."""
    services: dict[str, Address] = field(default_factory=dict)
    """Every endpoint the SUT serves, by name (``association``, ``maf_handshake``,
    ``key_retrieval``, ...); port 0: choose one and report it in the ready event.
    ``listen`` is the primary one (the association's) where there is one."""
    expected_legs: dict[str, int] = field(default_factory=dict)
    """How many legs of each kind the SUT runs (client roles) or serves (server roles)
    in this case before it reports its result; empty means one of its main leg.
    Entity A / Entity B: ``{"association": n}``, n association rounds one after another
    on fresh connections (key reuse and expiry need more than one). MAF:
    ``{"maf_handshake": n, "key_retrieval": m}``. A server that has served them all
    reports at once; one that has not by ``timeout`` reports what it has."""

    def legs_expected(self, name: str) -> int:
        return self.expected_legs.get(name, 1)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cipher_suites"] = [f"0x{s:04X}" for s in self.cipher_suites]
        for key in ("connect", "listen"):
            address = getattr(self, key)
            data[key] = None if address is None else address.to_json()
        for key in ("peers", "services"):
            data[key] = {name: a.to_json() for name, a in getattr(self, key).items()}
        return data


@dataclass
class LegResult:
    """The SUT's account of one leg of a multi-party case: one handshake or exchange
    with one peer (``name`` e.g. ``maf_handshake``, ``association``, ``key_retrieval``;
    ``peer`` the role of the other party). Fields as in :class:`SutResult`; ``fields``
    carries what a leg has beyond them (e.g. the KcID a SUT formed)."""

    name: str
    peer: str
    status: Status
    cipher_suite: int | None = None
    peer_identity: str | None = None
    psk_identity: str | None = None
    alert: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.cipher_suite is not None:
            data["cipher_suite"] = f"0x{self.cipher_suite:04X}"
        return data


@dataclass
class SutResult:
    """The SUT's own account of the run. Every field but status is optional.

    In a multi-party case ``legs`` lists every leg in the order the SUT ran it, and the
    top-level fields describe the last association (or the case's main leg)."""

    status: Status
    cipher_suite: int | None = None
    peer_identity: str | None = None  # the identity the SUT bound the association to
    psk_identity: str | None = None  # the psk_identity it used (A) or received (B)
    alert: str | None = None  # an alert it sent or received, as the SUT names it
    keys: dict[str, str] = field(default_factory=dict)  # exporter label -> hex output
    detail: str = ""  # free text: why it refused, what failed
    legs: list[LegResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """What made the account unreadable as given (a malformed shim result, each problem
    naming its field): such a result has status ERROR and the case cannot be judged on
    it, so the checks make the verdict *error* (harness.checks.expect_account_matches_wire)."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.cipher_suite is not None:
            data["cipher_suite"] = f"0x{self.cipher_suite:04X}"
        data["legs"] = [leg.to_json() for leg in self.legs]
        if not self.problems:
            del data["problems"]
        return data

    def legs_named(self, name: str) -> list[LegResult]:
        return [leg for leg in self.legs if leg.name == name]


class SutSession(Protocol):
    """One running instance of the SUT for one test case."""

    endpoints: dict[str, Address]
    """After ``wait_ready``: every endpoint the SUT serves, by the names of
    ``SutRequest.services`` (the primary listen address under its service name)."""

    def wait_ready(self, timeout: float) -> Address | None:
        """Block until the SUT is ready; return its primary listen address when it
        serves one (and fill ``endpoints``)."""

    def result(self, timeout: float) -> SutResult:
        """Block (bounded) until the SUT has finished the case and return its account."""

    def stop(self) -> None:
        """End the SUT instance; idempotent, never raises."""


class SutAdapter(Protocol):
    name: str

    def start(self, request: SutRequest) -> SutSession:
        """Start the SUT for one case. Raises harness.verdict.NotApplicable if it
        cannot play that role/framework/transport."""
