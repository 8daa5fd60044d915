"""Reading a reference role's configuration from a SutRequest's seed-named fields.

What every framework's reference roles share: the error type, typed field readers and
the DTLS transport settings. Each framework's own configuration classes (e.g.
harness/frameworks/saef_psk/reference/config.py) are built from these. Over DTLS two
optional transport settings apply to every role:
``mtu`` (the link MTU, largest UDP payload; default 1200) and ``retransmissionTimeout``
(the initial retransmission timer in seconds; default 1.0, RFC 6347 4.2.4.1). A missing
or malformed field is a configuration error of the test case, reported as
SutResult(status=error), never a refusal by the SUT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ConfigurationError(ValueError):
    """The request lacks a field the role needs, or a field is malformed."""


def _text(configuration: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = configuration.get(name)
    if value is None:
        if required:
            raise ConfigurationError(f"configuration lacks {name}")
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string, got {type(value).__name__}")
    return value


def _key(value: Any, name: str) -> bytes:
    """Kpsa is given as hex (the contract's encoding for key material)."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a hex string")
    try:
        key = bytes.fromhex(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} is not hex: {exc}") from exc
    if not key:
        raise ConfigurationError(f"{name} is empty")
    return key


MIN_MTU = 256
"""Smallest link MTU accepted: a DTLS 1.2 PSK ClientHello must fit one datagram."""


def _number(
    configuration: dict[str, Any], name: str, default: float, low: float, high: float
) -> float:
    value = configuration.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a number, got {type(value).__name__}")
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be within [{low}, {high}], got {value}")
    return float(value)


@dataclass(frozen=True)
class DatagramSettings:
    """DTLS transport settings (ignored over TLS)."""

    mtu: int = 1200
    retransmission_timeout: float = 1.0

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any]) -> DatagramSettings:
        return cls(
            mtu=int(_number(configuration, "mtu", cls.mtu, MIN_MTU, 65507)),
            retransmission_timeout=_number(
                configuration, "retransmissionTimeout", cls.retransmission_timeout, 0.01, 60.0
            ),
        )
