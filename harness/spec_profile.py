"""The specification profile: every interpretation the suite had to make, as a setting.

The seeds point to clauses they do not contain and contradict each other in places
(REQUIREMENTS.md Annexes A and C). PARAMETERS.md fills the gaps and names each choice
(I-01 ...). A verdict that depends on such a choice must say so, so each choice is a
named setting here with its default, its source and what it changes. A vendor whose
reading differs runs ``m2mconf run --spec-profile mine.toml`` and sees exactly which
setting decides the verdict. Settings prefixed S- are the suite's own test-method
choices (how strict an observation is), not readings of the specification.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    key: str
    id: str
    default: Any
    choices: tuple[Any, ...]
    source: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "gba_cipher_suites",
        "I-01",
        "seed",
        ("seed", "published"),
        "PARAMETERS.md 2; REQUIREMENTS.md C9",
        "Which GBA cipher-suite list is mandatory: the seed's (001 8.2.3.2 / 8.3.3.1) or "
        "the published TS-0003 10.2.2 list.",
    ),
    Setting(
        "exporter_split",
        "I-02",
        "identifier-first",
        ("identifier-first",),
        "PARAMETERS.md 3",
        "'16 most significant bytes' of the 48-octet exporter output are its first 16 "
        "octets (the relative identifier); the key is the last 32.",
    ),
    Setting(
        "exporter_context",
        "I-03",
        "none",
        ("none", "empty"),
        "PARAMETERS.md 3; RFC 5705 4",
        "The oneM2M exporters use RFC 5705's no-context form ('none'), which differs "
        "from an empty context.",
    ),
    Setting(
        "hexbinary_case",
        "I-04",
        "lower",
        ("lower", "upper"),
        "PARAMETERS.md 4; TS-0003 10.6",
        "Case of hexBinary in KeID/KcID; receivers compare the relative part case-insensitively.",
    ),
    Setting(
        "kmid_after_remote_provisioning",
        "I-05",
        "assigned",
        ("assigned", "derived"),
        "PARAMETERS.md 4; REQUIREMENTS.md C3, C4",
        "How KmID is obtained after an SBF run.",
    ),
    Setting(
        "maf_id",
        "I-06",
        "fqdn",
        ("fqdn", "configured"),
        "PARAMETERS.md 5",
        "MAF-ID used in the Km derivation: the MAF's FQDN unless configured.",
    ),
    Setting(
        "root_of_trust",
        "I-07",
        "sha256-spki",
        ("sha256-spki",),
        "PARAMETERS.md 6",
        "Root of Trust = SHA-256 over the DER SubjectPublicKeyInfo (RFC 6920 ni URI).",
    ),
    Setting(
        "certificate_name_match",
        "I-08",
        "cn-or-san-exact",
        ("cn-or-san-exact",),
        "PARAMETERS.md 6",
        "Where a Certificate Name may appear and how it is compared.",
    ),
    Setting(
        "b_to_maf_binding",
        "I-09",
        "m2mconf-key-retrieval-v1",
        ("m2mconf-key-retrieval-v1",),
        "PARAMETERS.md 7",
        "The suite's own binding of Entity B's Kc retrieval from the MAF (docs/saef-maf.md): "
        "HTTP/1.1 GET over TLS-PSK with the TS-0003 8.8.2.8 Key Retrieval field names, "
        "and A's CSE-ID/AE-ID in the documented sourceEntityID extension field.",
    ),
    Setting(
        "maf_handshake_content",
        "I-11",
        "seed",
        ("seed",),
        "PARAMETERS.md 7; seed 003; TS-0003 8.8.2.7",
        "What the MAF handshake carries: 'seed', the (D)TLS-PSK handshake and the exporter "
        "only. The published flow (a Key Registration request inside that session) is not "
        "implemented yet, so it is not offered as a value.",
    ),
    Setting(
        "maf_to_mef_binding",
        "I-10",
        "https-json",
        ("https-json",),
        "PARAMETERS.md 8",
        "The suite's binding of the MAF's Km request to the MEF.",
    ),
    Setting(
        "mef_returned_key",
        "I-12",
        "km",
        ("km", "usage-constrained"),
        "PARAMETERS.md 8; seed 001 9.4; TS-0003 8.3.2.1 step f, 10.3.2, 10.3.7",
        "The key the MEF releases to the MAF and the Enrolee uses in the MAF handshake: "
        "'km', Km = HMAC-SHA-256(Ke, \"oneM2M Enrolment Key to Master Credential "
        "derivation\" || MAF-ID) (10.3.2, the seed); 'usage-constrained', the published "
        "10.3.7 key over SUID 21 and the MAF-ID as Enrolment-Target-ID.",
    ),
    Setting(
        "refusal_requires_fatal_alert",
        "S-01",
        True,
        (True, False),
        "RFC 5246 7.2.2, 7.4.9; RFC 4279 5.1; issue #3",
        "A SUT that refuses a handshake must send a fatal alert. False: closing the "
        "connection without an alert also counts as a refusal (TLS-Anvil's "
        "'conceptually succeeded').",
    ),
    Setting(
        "refusal_alerts",
        "S-06",
        "rfc",
        ("rfc", "any-fatal"),
        "RFC 5246 7.2.2; REQUIREMENTS.md 11 (the seeds name no alert codes)",
        "'rfc': a refusal must use an alert the RFCs name for the case (several may be "
        "allowed); 'any-fatal': any fatal alert counts, and the expected ones are reported.",
    ),
    Setting(
        "dtls_cookie_exchange_required",
        "S-07",
        True,
        (True, False),
        "RFC 6347 4.2.1 (servers SHOULD use the cookie exchange); issue #4",
        "A DTLS Entity B must answer a cookieless ClientHello with a HelloVerifyRequest "
        "(protection against amplification); False: skipping it is reported, not failed.",
    ),
    Setting(
        "sni_required",
        "S-02",
        "all-frameworks",
        ("all-frameworks", "gba-only"),
        "TS-0003 10.2.1 (published); seed 001 L325; REQUIREMENTS.md C29",
        "Whether Entity A must send server_name in every framework (published text) or "
        "only in the GBA SAEF (seeds).",
    ),
    Setting(
        "client_offers_only_profile_suites",
        "S-03",
        True,
        (True, False),
        "SAEF-PSK-14; TS-0003 10.2.2",
        "Entity A's ClientHello offers only suites of the framework's profile "
        "(signalling values excepted).",
    ),
    Setting(
        "client_must_support_mandatory_suite",
        "S-04",
        True,
        (True, False),
        "PARAMETERS.md 2 (mandatory column) vs 1 ('clients at least one')",
        "Entity A must complete a handshake with the transport's mandatory suite. False: "
        "at least one profile suite is enough for a client.",
    ),
    Setting(
        "kpsaid_format",
        "S-05",
        "relative@fqdn",
        ("relative@fqdn", "opaque"),
        "TS-0003 10.5",
        "Form of KpsaID checked in profiles and generated by the harness.",
    ),
    Setting(
        "dtls_unknown_identity_discard",
        "S-08",
        True,
        (True, False),
        "RFC 4279 2 (an unknown identity MAY be handled as a wrong key); RFC 6347 4.1.2.7",
        "Over DTLS, an Entity B that handles an unknown or malformed psk_identity as a "
        "wrong key cannot read the client's Finished and discards it in silence (GnuTLS's "
        "default): TP/SAEF-PSK/B/05 and B/06 accept that silence after the harness's "
        "Finished. False: they require a fatal alert over DTLS too.",
    ),
    Setting(
        "server_name_match",
        "S-09",
        "case-insensitive",
        ("case-insensitive", "exact"),
        "RFC 6066 3; RFC 4343 (DNS names compare ASCII case-insensitively)",
        "How TP/SAEF-PSK/A/05 compares the server_name Entity A sends with Entity B's "
        "host name: ignoring ASCII case, or octet for octet.",
    ),
    Setting(
        "kpsaid_match",
        "S-10",
        "fqdn-case-insensitive",
        ("fqdn-case-insensitive", "exact"),
        "TS-0003 10.5 (KpsaID = relative@Issuer-FQDN); RFC 4343",
        "How an Entity B may compare a presented psk_identity with its KpsaIds: the "
        "relative part exactly and the FQDN ignoring ASCII case (as profile validation "
        "does for duplicates), or octet for octet. TP/SAEF-PSK/B/06 'in upper case' "
        "upper-cases only the relative part (inconclusive if it has no letter), or, with "
        "'exact', the whole KpsaId.",
    ),
)

_BY_KEY = {s.key: s for s in SETTINGS}


class SpecProfileError(ValueError):
    """A spec-profile file names an unknown setting or an invalid value."""


@dataclass(frozen=True)
class SpecProfile:
    gba_cipher_suites: str = "seed"
    exporter_split: str = "identifier-first"
    exporter_context: str = "none"
    hexbinary_case: str = "lower"
    kmid_after_remote_provisioning: str = "assigned"
    maf_id: str = "fqdn"
    root_of_trust: str = "sha256-spki"
    certificate_name_match: str = "cn-or-san-exact"
    b_to_maf_binding: str = "m2mconf-key-retrieval-v1"
    maf_handshake_content: str = "seed"
    maf_to_mef_binding: str = "https-json"
    mef_returned_key: str = "km"
    refusal_requires_fatal_alert: bool = True
    refusal_alerts: str = "rfc"
    dtls_cookie_exchange_required: bool = True
    sni_required: str = "all-frameworks"
    client_offers_only_profile_suites: bool = True
    client_must_support_mandatory_suite: bool = True
    kpsaid_format: str = "relative@fqdn"
    dtls_unknown_identity_discard: bool = True
    server_name_match: str = "case-insensitive"
    kpsaid_match: str = "fqdn-case-insensitive"

    def describe(self, key: str) -> str:
        """'S-01 refusal_requires_fatal_alert=True', for verdict reasons."""
        return f"{_BY_KEY[key].id} {key}={getattr(self, key)!r}"

    def to_json(self) -> dict[str, Any]:
        return {
            f.name: {
                "id": _BY_KEY[f.name].id,
                "value": getattr(self, f.name),
                "default": _BY_KEY[f.name].default == getattr(self, f.name),
            }
            for f in fields(self)
        }

    @classmethod
    def from_mapping(cls, data: dict[str, Any], origin: str = "spec profile") -> SpecProfile:
        values: dict[str, Any] = {}
        errors: list[str] = []
        section = data.get("settings", data)
        if not isinstance(section, dict):
            raise SpecProfileError(f"{origin}: settings: must be a table of setting = value")
        for key, value in section.items():
            setting = _BY_KEY.get(key)
            if setting is None:
                errors.append(
                    f"{origin}: settings.{key}: unknown setting; known: " + ", ".join(_BY_KEY)
                )
            elif value not in setting.choices or type(value) is not type(setting.default):
                shown = (
                    repr(value)
                    if isinstance(value, str | bool | int | float)
                    else "a " + ("table" if isinstance(value, dict) else type(value).__name__)
                )  # never the repr of a nested value: a hostile one is 1000 deep
                errors.append(
                    f"{origin}: settings.{key}: {shown} is not one of {list(setting.choices)}"
                )
            else:
                values[key] = value
        if errors:
            raise SpecProfileError("\n".join(errors))
        return cls(**values)

    @classmethod
    def load(cls, path: Path | None) -> SpecProfile:
        if path is None:
            return cls()
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SpecProfileError(f"{path}: {exc}") from exc
        except RecursionError as exc:  # tomllib recurses: x = [[[...]]] exhausts the stack
            raise SpecProfileError(f"{path}: TOML nested too deeply to read") from exc
        return cls.from_mapping(data, str(path))


def render_markdown() -> str:
    """docs/spec-profile.md, generated so the documentation cannot drift from the code."""
    lines = [
        "# The specification profile",
        "",
        "Every interpretation the suite makes where the seeds are silent or contradict",
        "themselves is a named setting (I-xx from PARAMETERS.md; S-xx the suite's own",
        "test-method choices). Reports list the settings in force. Override any of them with",
        "`m2mconf run --spec-profile FILE`, a TOML file such as:",
        "",
        "```toml",
        "[settings]",
        "refusal_requires_fatal_alert = false",
        'sni_required = "gba-only"',
        "```",
        "",
        "This file is generated from `harness/spec_profile.py` (`python -m harness.spec_profile`).",
        "",
        "| id | setting | default | choices | source | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        choices = ", ".join(f"`{c!r}`" for c in s.choices)
        lines.append(
            f"| {s.id} | `{s.key}` | `{s.default!r}` | {choices} | {s.source} | {s.meaning} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
