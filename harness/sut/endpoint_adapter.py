"""The endpoint adapter: a SUT server that is already running, provisioned out of band.

The lab starts its Entity B with the IXIT's identities and credentials and tells the
harness where it listens. The harness cannot start, stop or ask it anything, so:
only server roles apply, readiness is assumed (a TCP probe would be a connection the
SUT sees and might count or log as an attack), and the SUT's own account of a
handshake is unknown; verdicts then rest on the wire alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.sut.contract import Address, Role, Status, SutRequest, SutResult
from harness.sut.profile import SutProfile
from harness.verdict import NotApplicable

NO_OBSERVATION = "endpoint adapter has no observation channel"


@dataclass
class EndpointSession:
    address: Address

    def wait_ready(self, timeout: float) -> Address | None:
        """The configured address, at once: the SUT is running by assumption."""
        return self.address

    def result(self, timeout: float) -> SutResult:
        return SutResult(Status.UNKNOWN, detail=NO_OBSERVATION)

    def stop(self) -> None:
        """Nothing to stop: the SUT's life is the lab's."""


class EndpointAdapter:
    name = "endpoint"

    def __init__(self, host: str, port: int) -> None:
        self.address = Address(host, port)

    @classmethod
    def from_profile(cls, profile: SutProfile) -> EndpointAdapter:
        spec = profile.adapter
        assert spec.port is not None, "validated by parse_profile"
        return cls(spec.host or profile.ixit.host, spec.port)

    def start(self, request: SutRequest) -> EndpointSession:
        if request.role is not Role.ENTITY_B:
            raise NotApplicable(
                f"the endpoint adapter drives only an already-running Entity B server, "
                f"not {request.role}"
            )
        return EndpointSession(self.address)
