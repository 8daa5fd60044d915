"""The endpoint adapter: a SUT server that is already running, provisioned out of band.

The lab starts its implementation with the IXIT's identities and credentials and tells
the harness where it listens. The harness cannot start, stop or ask it anything, so:
only server roles apply, readiness is assumed (a TCP probe would be a connection the
SUT sees and might count or log as an attack), and the SUT's own account of a
handshake is unknown; verdicts then rest on the wire alone.

A multi-party SUT (docs/saef-maf.md) serves several endpoints and reaches harness
parties itself: a MAF serves ``maf_handshake`` and ``key_retrieval``; an Entity B
serves ``association`` and reaches the MAF's key-retrieval service. Both sets of
addresses are fixed in the lab's configuration, so the profile declares them
(``[adapter.endpoints]``, ``[adapter.peers]``; docs/adapter-contract.md) and the
harness must put its parties where the SUT expects them: :meth:`EndpointAdapter.start`
refuses a case whose peers are elsewhere instead of letting the SUT time out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.sut.contract import Address, Role, Status, SutRequest, SutResult
from harness.sut.validation import ProfileError
from harness.verdict import HarnessError, NotApplicable

if TYPE_CHECKING:  # only for the annotation: the adapter needs no profile loader
    from harness.sut.profile import SutProfile

NO_OBSERVATION = "endpoint adapter has no observation channel"
PRIMARY_SERVICE = "association"  # what ``[adapter] port`` (the one-endpoint form) serves
SERVER_ROLES = (Role.ENTITY_B, Role.MAF)
PRIMARY_BY_ROLE = {Role.ENTITY_B: "association", Role.MAF: "maf_handshake"}


class PeerMismatch(HarnessError):
    """The case placed a harness party where the running SUT does not look for it."""


@dataclass
class EndpointSession:
    address: Address
    endpoints: dict[str, Address] = field(default_factory=dict)

    def wait_ready(self, timeout: float) -> Address | None:
        """The configured primary address, at once: the SUT is running by assumption."""
        return self.address

    def result(self, timeout: float) -> SutResult:
        return SutResult(Status.UNKNOWN, detail=NO_OBSERVATION)

    def stop(self) -> None:
        """Nothing to stop: the SUT's life is the lab's."""


class EndpointAdapter:
    """An always-running server SUT at fixed addresses.

    ``endpoints``: the services it serves, by the names of ``SutRequest.services``;
    ``host``/``port`` (the one-endpoint form every profile had so far) is the
    ``association`` endpoint. ``peers``: the harness parties it is configured to reach,
    by role (``maf``, ...): the harness must run them there (:meth:`peer_addresses`).
    """

    name = "endpoint"

    def __init__(
        self,
        host: str,
        port: int | None = None,
        endpoints: Mapping[str, Address] | None = None,
        peers: Mapping[str, Address] | None = None,
    ) -> None:
        self.endpoints: dict[str, Address] = dict(endpoints or {})
        if port is not None:
            self.endpoints.setdefault(PRIMARY_SERVICE, Address(host, port))
        if not self.endpoints:
            raise ValueError("the endpoint adapter needs at least one endpoint")
        self.peers: dict[str, Address] = dict(peers or {})

    @property
    def address(self) -> Address:
        """The association endpoint, else the first declared (for one-endpoint callers)."""
        return self.endpoints.get(PRIMARY_SERVICE, next(iter(self.endpoints.values())))

    @classmethod
    def from_profile(cls, profile: SutProfile) -> EndpointAdapter:
        """From ``[adapter]``: ``host``, ``port`` and, once the profile schema has them,
        ``endpoints`` and ``peers`` (AdapterSpec fields of type Mapping[str, Address])."""
        spec = profile.adapter
        endpoints = getattr(spec, "endpoints", None) or {}
        peers = getattr(spec, "peers", None) or {}
        host = spec.host or profile.ixit.host
        assert spec.port is not None or endpoints, "validated by parse_profile"
        return cls(host, spec.port, endpoints, peers)

    def peer_addresses(self) -> dict[str, Address]:
        """Where the harness must run each party the SUT reaches (a copy)."""
        return dict(self.peers)

    def start(self, request: SutRequest) -> EndpointSession:
        """A session for a case, after checking that the running SUT can take part:
        NotApplicable when it plays another role or serves no endpoint the case needs,
        PeerMismatch (a harness error) when the case's parties are not where the SUT
        reaches them."""
        if request.role not in SERVER_ROLES:
            raise NotApplicable(
                f"the endpoint adapter drives only an already-running Entity B or MAF "
                f"server, not {request.role}"
            )
        wanted = list(request.services) or [PRIMARY_BY_ROLE[request.role]]
        missing = [name for name in wanted if name not in self.endpoints]
        if missing:
            raise NotApplicable(
                f"the running SUT declares no endpoint for {', '.join(missing)} "
                f"(profile [adapter.endpoints] has {', '.join(self.endpoints)})"
            )
        for role, address in request.peers.items():
            fixed = self.peers.get(role)
            if fixed is None:
                raise NotApplicable(
                    f"the case needs the SUT to reach a {role} but the profile declares "
                    f"no [adapter.peers] {role} address it is configured with"
                )
            if fixed != address:
                raise PeerMismatch(
                    f"the running SUT reaches its {role} at {fixed}, the case put it at "
                    f"{address}: run the harness party at peer_addresses()[{role!r}]"
                )
        endpoints = {name: self.endpoints[name] for name in wanted}
        return EndpointSession(endpoints[wanted[0]], endpoints)


def parse_addresses(
    value: Any, default_host: str, where: str
) -> tuple[dict[str, Address], list[ProfileError]]:
    """The ``[adapter.endpoints]`` / ``[adapter.peers]`` table of a profile: each entry
    a port (on ``default_host``) or ``{host, port}``. For the profile loader, which
    reports the errors with the others."""
    if not isinstance(value, dict):
        return {}, [ProfileError(where, "must be a table of name = port or {host, port}")]
    addresses: dict[str, Address] = {}
    errors: list[ProfileError] = []
    for name, entry in value.items():
        at = f"{where}.{name}"
        host, port = default_host, entry
        if isinstance(entry, dict):
            unknown = sorted(set(entry) - {"host", "port"})
            if unknown:
                errors.append(ProfileError(f"{at}.{unknown[0]}", "unknown key; known: host, port"))
                continue
            host, port = entry.get("host", default_host), entry.get("port")
        if not isinstance(host, str) or not host.strip():
            errors.append(ProfileError(f"{at}.host", f"must be a host name or IP, not {host!r}"))
            continue
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            errors.append(ProfileError(f"{at}.port", f"must be an integer 1..65535, not {port!r}"))
            continue
        addresses[str(name)] = Address(host.strip(), port)
    return addresses, errors
