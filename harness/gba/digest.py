"""HTTP Digest (RFC 2617 / RFC 7616) with AKAv1-MD5 (RFC 3310) as Ub uses it (TS 24.109 4, 5).

Ub is GBA bootstrapping over HTTP: the UE GETs the BSF with username = IMPI, the BSF
answers 401 with nonce = base64(RAND || AUTN [|| server data]), algorithm=AKAv1-MD5,
qop=auth-int; the UE runs AKA and answers with RES *as raw octets* as the digest password
(RFC 3310 3.1), the BSF verifies and returns 200 OK with the BootstrappingInfo XML
(TS 24.109 Annex C) holding the B-TID and the key lifetime.

The header parser is small and strict on purpose: a conformance suite must say which
parameter of an SUT's header is wrong, and the lenient parsers of HTTP libraries (for
example werkzeug's ``parse_dict_header``) drop or merge malformed parameters silently;
none of the project's dependencies (h11 included) parses authentication headers.
Grammar: RFC 7235 2.1 (auth-scheme 1*SP #auth-param; auth-param = token BWS "=" BWS
(token / quoted-string)) with RFC 7230 3.2.6 quoted-pair; a repeated parameter, a
parameter without a value, an unterminated quoted string are errors naming the parameter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape

from . import GbaInputError, octets
from .milenage import AUTN_OCTETS, RAND_OCTETS


class DigestError(GbaInputError):
    """A malformed or non-conforming Digest header or value; ``field`` is the parameter."""


_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256, "AKAV1-MD5": hashlib.md5}
"""Digest algorithms this module computes; AKAv1-MD5 is MD5 with the AKA password (RFC 3310 3.1)."""

AKAV1_MD5 = "AKAv1-MD5"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _hash_for(algorithm: str) -> Callable[..., Any]:
    try:
        return _HASHES[algorithm.upper()]
    except (KeyError, AttributeError):
        raise DigestError(
            "algorithm", f"unsupported {algorithm!r} (MD5, SHA-256, AKAv1-MD5)"
        ) from None


def _h(algorithm: str, data: bytes) -> str:
    return _hash_for(algorithm)(data).hexdigest()


def digest_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: bytes,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """request-digest of RFC 2617 3.2.2 / RFC 7616 3.4.1 as lower-case hex.

    HA1 = H(username ":" realm ":" password) with the password as octets (for AKAv1-MD5
    the 8 octets of RES, not their hex text); HA2 = H(method ":" uri) for qop=auth or no
    qop, H(method ":" uri ":" H(entity-body)) for qop=auth-int; the response is
    H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2), or H(HA1 ":" nonce ":" HA2)
    without qop (RFC 2069 compatibility, which RFC 3310's examples use).
    """
    password = octets("password", password)
    if qop not in (None, "auth", "auth-int"):
        raise DigestError("qop", f"unsupported {qop!r} (auth, auth-int)")
    a1 = f"{username}:{realm}:".encode() + password
    ha1 = _h(algorithm, a1)
    a2 = f"{method}:{uri}"
    if qop == "auth-int":
        a2 += ":" + _h(algorithm, body)
    ha2 = _h(algorithm, a2.encode())
    if qop is None:
        return _h(algorithm, f"{ha1}:{nonce}:{ha2}".encode())
    if not nc or not cnonce:
        raise DigestError("nc" if not nc else "cnonce", f"required with qop={qop}")
    return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}".encode())


# --- header parsing ----------------------------------------------------------------------


def _parse_params(text: str, header: str) -> dict[str, str]:
    """auth-params of one challenge/credentials, names lower-cased, values unquoted."""
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        m = _TOKEN.match(text, i)
        if not m:
            raise DigestError(
                header, f"expected a parameter name at offset {i}: {text[i : i + 20]!r}"
            )
        name = m.group(0).lower()
        i = m.end()
        while i < n and text[i] in " \t":
            i += 1
        if i >= n or text[i] != "=":
            raise DigestError(name, "parameter without '=' and value")
        i += 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            value = []
            while True:
                if i >= n:
                    raise DigestError(name, "unterminated quoted string")
                c = text[i]
                if c == "\\":
                    if i + 1 >= n:
                        raise DigestError(name, "quoted-pair at the end of the header")
                    value.append(text[i + 1])
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    break
                value.append(c)
                i += 1
            val = "".join(value)
        else:
            m = _TOKEN.match(text, i)
            if not m:
                raise DigestError(name, "value is neither a token nor a quoted string")
            val = m.group(0)
            i = m.end()
        if name in params:
            raise DigestError(name, "parameter repeated")
        params[name] = val
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        if text[i] != ",":
            raise DigestError(name, f"expected ',' after the value, got {text[i]!r}")
        i += 1
    return params


def _split_scheme(value: str, header: str) -> str:
    if not isinstance(value, str):
        raise DigestError(header, f"expected a string, got {type(value).__name__}")
    scheme, sep, rest = value.strip().partition(" ")
    if scheme.lower() != "digest" or not sep:
        raise DigestError(header, f"scheme must be Digest with parameters, got {scheme!r}")
    return rest


def _require(params: dict[str, str], name: str) -> str:
    if name not in params:
        raise DigestError(name, "required parameter missing")
    return params[name]


@dataclass(frozen=True)
class Challenge:
    """A WWW-Authenticate: Digest challenge (RFC 7616 3.3)."""

    realm: str
    nonce: str
    algorithm: str = AKAV1_MD5
    qop: tuple[str, ...] = ("auth-int",)
    opaque: str | None = None
    stale: bool = False
    domain: str | None = None

    def header_value(self) -> str:
        """The header value as the harness BSF sends it (quoted strings, qop as one list)."""
        parts = [f'realm="{_quote(self.realm)}"', f'nonce="{_quote(self.nonce)}"']
        if self.domain is not None:
            parts.append(f'domain="{_quote(self.domain)}"')
        if self.opaque is not None:
            parts.append(f'opaque="{_quote(self.opaque)}"')
        if self.stale:
            parts.append("stale=TRUE")
        parts.append(f"algorithm={self.algorithm}")
        if self.qop:
            parts.append(f'qop="{",".join(self.qop)}"')
        return "Digest " + ", ".join(parts)


def _quote(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def parse_www_authenticate(value: str) -> Challenge:
    """Challenge from one Digest challenge; realm and nonce are required (RFC 7616 3.3)."""
    params = _parse_params(_split_scheme(value, "WWW-Authenticate"), "WWW-Authenticate")
    qop = tuple(q.strip() for q in params["qop"].split(",") if q.strip()) if "qop" in params else ()
    stale = params.get("stale", "false")
    if stale.lower() not in ("true", "false"):
        raise DigestError("stale", f"expected TRUE or FALSE, got {stale!r}")
    return Challenge(
        realm=_require(params, "realm"),
        nonce=_require(params, "nonce"),
        algorithm=params.get("algorithm", "MD5"),
        qop=qop,
        opaque=params.get("opaque"),
        stale=stale.lower() == "true",
        domain=params.get("domain"),
    )


@dataclass(frozen=True)
class Authorization:
    """An Authorization: Digest credentials (RFC 7616 3.4), with RFC 3310's auts."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = AKAV1_MD5
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None
    auts: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def header_value(self) -> str:
        """The header value as the harness UE sends it (qop, nc, algorithm unquoted)."""
        parts = [
            f'username="{_quote(self.username)}"',
            f'realm="{_quote(self.realm)}"',
            f'nonce="{_quote(self.nonce)}"',
            f'uri="{_quote(self.uri)}"',
        ]
        if self.qop is not None:
            parts += [f"qop={self.qop}", f"nc={self.nc}", f'cnonce="{_quote(self.cnonce or "")}"']
        parts.append(f'response="{self.response}"')
        parts.append(f"algorithm={self.algorithm}")
        if self.opaque is not None:
            parts.append(f'opaque="{_quote(self.opaque)}"')
        if self.auts is not None:
            parts.append(f'auts="{self.auts}"')
        return "Digest " + ", ".join(parts)


_KNOWN_AUTH = {
    "username",
    "realm",
    "nonce",
    "uri",
    "response",
    "algorithm",
    "qop",
    "nc",
    "cnonce",
    "opaque",
    "auts",
}


def parse_authorization(value: str) -> Authorization:
    """Authorization from Digest credentials; nc must be 8 hex digits when qop is present."""
    params = _parse_params(_split_scheme(value, "Authorization"), "Authorization")
    qop = params.get("qop")
    nc = params.get("nc")
    cnonce = params.get("cnonce")
    if qop is not None:
        if nc is None or cnonce is None:
            raise DigestError("nc" if nc is None else "cnonce", f"required with qop={qop}")
        if not re.fullmatch(r"[0-9a-fA-F]{8}", nc):
            raise DigestError("nc", f"expected 8 hex digits, got {nc!r}")
    return Authorization(
        username=_require(params, "username"),
        realm=_require(params, "realm"),
        nonce=_require(params, "nonce"),
        uri=_require(params, "uri"),
        response=_require(params, "response"),
        algorithm=params.get("algorithm", "MD5"),
        qop=qop,
        nc=nc,
        cnonce=cnonce,
        opaque=params.get("opaque"),
        auts=params.get("auts"),
        extra={k: v for k, v in params.items() if k not in _KNOWN_AUTH},
    )


def verify_authorization(
    auth: Authorization, challenge: Challenge, *, password: bytes, method: str, body: bytes = b""
) -> bool:
    """Whether ``auth`` answers ``challenge`` with ``password``; a mismatch of the echoed
    fields (realm, nonce, algorithm, opaque, an unoffered qop) raises DigestError naming it,
    so a verdict can tell a wrong field from a wrong response."""
    if auth.realm != challenge.realm:
        raise DigestError("realm", f"{auth.realm!r} is not the challenge's {challenge.realm!r}")
    if auth.nonce != challenge.nonce:
        raise DigestError("nonce", "not the nonce of the challenge")
    if auth.algorithm.upper() != challenge.algorithm.upper():
        raise DigestError(
            "algorithm", f"{auth.algorithm!r} is not the challenge's {challenge.algorithm!r}"
        )
    if auth.opaque != challenge.opaque:
        raise DigestError("opaque", "not the opaque of the challenge")
    if challenge.qop and auth.qop not in challenge.qop:
        raise DigestError("qop", f"{auth.qop!r} was not offered ({', '.join(challenge.qop)})")
    expected = digest_response(
        algorithm=auth.algorithm,
        username=auth.username,
        realm=auth.realm,
        password=password,
        method=method,
        uri=auth.uri,
        nonce=auth.nonce,
        qop=auth.qop,
        nc=auth.nc,
        cnonce=auth.cnonce,
        body=body,
    )
    return hmac.compare_digest(expected, auth.response.lower())


# --- AKA nonce, B-TID ---------------------------------------------------------------------


def aka_nonce(rand: bytes, autn: bytes, server_data: bytes = b"") -> str:
    """nonce = base64(RAND || AUTN || server data) (RFC 3310 3.2)."""
    return base64.b64encode(
        octets("RAND", rand, RAND_OCTETS)
        + octets("AUTN", autn, AUTN_OCTETS)
        + octets("server data", server_data)
    ).decode("ascii")


def split_aka_nonce(nonce: str) -> tuple[bytes, bytes, bytes]:
    """(RAND, AUTN, server data) of an AKA nonce; refuses non-canonical base64 or a short nonce."""
    if not isinstance(nonce, str):
        raise DigestError("nonce", f"expected a string, got {type(nonce).__name__}")
    try:
        raw = base64.b64decode(nonce.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise DigestError("nonce", f"not base64: {e}") from None
    if len(raw) < RAND_OCTETS + AUTN_OCTETS:
        raise DigestError(
            "nonce",
            f"{len(raw)} octets, at least {RAND_OCTETS + AUTN_OCTETS} needed for RAND || AUTN",
        )
    return (
        raw[:RAND_OCTETS],
        raw[RAND_OCTETS : RAND_OCTETS + AUTN_OCTETS],
        raw[RAND_OCTETS + AUTN_OCTETS :],
    )


def make_btid(rand: bytes, bsf_host: str) -> str:
    """B-TID = base64(RAND) "@" BSF server name (TS 33.220 4.5.2 step 8; TS 24.109 4.4.3)."""
    if not isinstance(bsf_host, str) or not bsf_host or "@" in bsf_host:
        raise DigestError("BSF host", "expected a non-empty host name without '@'")
    return base64.b64encode(octets("RAND", rand, RAND_OCTETS)).decode("ascii") + "@" + bsf_host


def split_btid(btid: str) -> tuple[bytes, str]:
    """(RAND, BSF host) of a B-TID made as above; a NAF treats B-TID as opaque, a BSF need not."""
    if not isinstance(btid, str):
        raise DigestError("B-TID", f"expected a string, got {type(btid).__name__}")
    left, sep, host = btid.rpartition("@")
    if not sep or not left or not host:
        raise DigestError("B-TID", "expected base64(RAND)@host")
    try:
        rand = base64.b64decode(left.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise DigestError("B-TID", f"RAND part is not base64: {e}") from None
    if len(rand) != RAND_OCTETS:
        raise DigestError("B-TID", f"RAND part has {len(rand)} octets, expected {RAND_OCTETS}")
    return rand, host


# --- BootstrappingInfo (TS 24.109 Annex C) -----------------------------------------------

GBA_NAMESPACE = "uri:3gpp-gba"


def build_bootstrapping_info(btid: str, lifetime: datetime) -> bytes:
    """The 200 OK body: <BootstrappingInfo xmlns="uri:3gpp-gba"><btid/><lifetime/></...>.

    lifetime is an xs:dateTime; the suite writes it in UTC with "Z" and whole seconds.
    """
    if not isinstance(btid, str) or not btid:
        raise DigestError("btid", "expected a non-empty string")
    if not isinstance(lifetime, datetime) or lifetime.tzinfo is None:
        raise DigestError("lifetime", "expected a timezone-aware datetime")
    stamp = lifetime.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<BootstrappingInfo xmlns="{GBA_NAMESPACE}">'
        f"<btid>{escape(btid)}</btid><lifetime>{stamp}</lifetime></BootstrappingInfo>"
    ).encode()


@dataclass(frozen=True)
class BootstrappingInfo:
    """btid and lifetime of a BootstrappingInfo document (extension elements are ignored)."""

    btid: str
    lifetime: datetime


_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:\d{2})")


def parse_bootstrapping_info(data: bytes) -> BootstrappingInfo:
    """Parse the XML with expat and no DTD: a DOCTYPE, an entity declaration or an external
    entity reference is refused, so neither external entities nor entity expansion bombs
    can reach the harness from an SUT BSF."""
    data = octets("BootstrappingInfo", data)
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[str] = []
    texts: dict[str, list[str]] = {}
    root: list[str] = []

    def refuse(*_args: object) -> None:
        raise DigestError("BootstrappingInfo", "DTDs and entity declarations are not accepted")

    def start(name: str, _attrs: dict[str, str]) -> None:
        if not stack:
            root.append(name)
        elif len(stack) == 1:
            if name in texts:
                raise DigestError(name.rpartition(" ")[2], "element repeated")
            texts[name] = []
        stack.append(name)

    def end(_name: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if len(stack) == 2 and stack[1] in texts:
            texts[stack[1]].append(text)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise DigestError("BootstrappingInfo", f"not well-formed XML: {e}") from None
    ns = GBA_NAMESPACE + " "
    if root != [ns + "BootstrappingInfo"]:
        raise DigestError(
            "BootstrappingInfo", f"root element must be {{{GBA_NAMESPACE}}}BootstrappingInfo"
        )
    btid = "".join(texts.get(ns + "btid", [])).strip()
    if ns + "btid" not in texts or not btid:
        raise DigestError("btid", "missing or empty")
    if ns + "lifetime" not in texts:
        raise DigestError("lifetime", "missing")
    stamp = "".join(texts[ns + "lifetime"]).strip()
    m = _DATETIME.fullmatch(stamp)
    if not m:
        raise DigestError("lifetime", f"not an xs:dateTime with a time zone: {stamp!r}")
    zone = "+00:00" if m.group(2) == "Z" else m.group(2)
    try:
        lifetime = datetime.fromisoformat(m.group(1) + zone)
    except ValueError as e:
        raise DigestError("lifetime", str(e)) from None
    return BootstrappingInfo(btid=btid, lifetime=lifetime)
