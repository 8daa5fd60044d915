"""Handshake message codecs: bodies (without the framing header) to and from fields.

ClientHello, ServerHello and the extensions come from tlslite-ng; the RFC 4279 messages
tlslite lacks (PSK / DHE_PSK ServerKeyExchange and ClientKeyExchange) and the RFC 8422
ECDHE_ECDSA ones with Certificate, CertificateRequest and CertificateVerify are written
here with tlslite's Parser and Writer. Every decoder returns a plain, JSON-serialisable dict
of fields for the trace and raises ProtocolError(decode_error) on a malformed body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tlslite.extensions import SNIExtension, TLSExtension
from tlslite.messages import ClientHello, ServerHello
from tlslite.utils.codec import DecodeError, Parser, Writer

from harness.tls import alerts
from harness.tls.alerts import ProtocolError
from harness.tls.certificates import describe_certificate
from harness.tls.suites import suite_name

HELLO_REQUEST = 0
CLIENT_HELLO = 1
SERVER_HELLO = 2
HELLO_VERIFY_REQUEST = 3  # DTLS only (RFC 6347 section 4.2.1)
CERTIFICATE = 11
SERVER_KEY_EXCHANGE = 12
CERTIFICATE_REQUEST = 13
SERVER_HELLO_DONE = 14
CERTIFICATE_VERIFY = 15
CLIENT_KEY_EXCHANGE = 16
FINISHED = 20

MESSAGE_NAMES = {
    HELLO_REQUEST: "HelloRequest",
    CLIENT_HELLO: "ClientHello",
    SERVER_HELLO: "ServerHello",
    HELLO_VERIFY_REQUEST: "HelloVerifyRequest",
    CERTIFICATE: "Certificate",
    SERVER_KEY_EXCHANGE: "ServerKeyExchange",
    CERTIFICATE_REQUEST: "CertificateRequest",
    SERVER_HELLO_DONE: "ServerHelloDone",
    CERTIFICATE_VERIFY: "CertificateVerify",
    CLIENT_KEY_EXCHANGE: "ClientKeyExchange",
    FINISHED: "Finished",
}
MESSAGE_TYPES = {name: code for code, name in MESSAGE_NAMES.items()}

EXT_SERVER_NAME = 0
EXT_EXTENDED_MASTER_SECRET = 23
EXT_RENEGOTIATION_INFO = 0xFF01
EXTENSION_NAMES = {
    0: "server_name",
    1: "max_fragment_length",
    5: "status_request",
    10: "supported_groups",
    11: "ec_point_formats",
    13: "signature_algorithms",
    15: "heartbeat",
    16: "application_layer_protocol_negotiation",
    22: "encrypt_then_mac",
    23: "extended_master_secret",
    35: "session_ticket",
    0xFF01: "renegotiation_info",
}


def message_name(msg_type: int) -> str:
    return MESSAGE_NAMES.get(msg_type, f"handshake_{msg_type}")


def _version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _parse_with_header(body: bytes) -> Parser:
    """tlslite's hello parsers expect the uint24 length before the body."""
    return Parser(bytearray(len(body).to_bytes(3, "big") + body))


@dataclass
class Hello:
    """The parts of a ClientHello / ServerHello the state machines use."""

    version: tuple[int, int]
    random: bytes
    session_id: bytes
    cipher_suites: list[int]  # ServerHello: the one selected suite
    compression_methods: list[int]
    extensions: list[tuple[int, bytes]] = field(default_factory=list)
    has_extensions_block: bool = False

    def extension(self, ext_type: int) -> bytes | None:
        for kind, data in self.extensions:
            if kind == ext_type:
                return data
        return None

    @property
    def server_name(self) -> str | None:
        data = self.extension(EXT_SERVER_NAME)
        if data is None:
            return None
        try:
            sni = SNIExtension().parse(Parser(bytearray(data)))
        except (DecodeError, SyntaxError, ValueError, IndexError):
            return None
        for entry in sni.serverNames or []:
            if entry.name_type == 0:
                return bytes(entry.name).decode("utf-8", errors="replace")
        return None

    def fields(self, client: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": _version_text(self.version),
            "random": self.random.hex(),
            "session_id": self.session_id.hex(),
        }
        if client:
            out["cipher_suites"] = list(self.cipher_suites)
            out["cipher_suite_names"] = [suite_name(c) for c in self.cipher_suites]
            out["compression_methods"] = list(self.compression_methods)
        else:
            out["cipher_suite"] = self.cipher_suites[0]
            out["cipher_suite_name"] = suite_name(self.cipher_suites[0])
            out["compression_method"] = self.compression_methods[0]
        out["extensions"] = [
            {"type": kind, "name": EXTENSION_NAMES.get(kind, f"ext_{kind}"), "data": data.hex()}
            for kind, data in self.extensions
        ]
        out["server_name"] = self.server_name
        out["extended_master_secret"] = self.extension(EXT_EXTENDED_MASTER_SECRET) is not None
        return out


def _extensions_of(message: Any) -> tuple[list[tuple[int, bytes]], bool]:
    exts = message.extensions
    if exts is None:
        return [], False
    out = []
    for ext in exts:
        out.append((ext.extType, bytes(ext.extData)))
    return out, True


def _tls_extension(ext_type: int, data: bytes) -> TLSExtension:
    return TLSExtension(extType=ext_type).create(bytearray(data))


def sni_extension_data(host_name: str) -> bytes:
    return bytes(SNIExtension().create(bytearray(host_name, "utf-8")).extData)


def _hello_extensions(hello: Hello) -> list[TLSExtension] | None:
    """tlslite's extension list; None writes no extensions block at all."""
    if not hello.has_extensions_block:
        return None
    return [_tls_extension(k, d) for k, d in hello.extensions]


def _parse_hello(message: Any, body: bytes) -> Any:
    """``message`` (a fresh tlslite ClientHello or ServerHello) parsed from ``body``."""
    name = type(message).__name__
    try:
        return message.parse(_parse_with_header(body))
    except (DecodeError, SyntaxError, ValueError, IndexError) as exc:
        raise ProtocolError(alerts.DECODE_ERROR, f"malformed {name}: {exc}") from exc


def encode_client_hello(hello: Hello) -> bytes:
    exts = _hello_extensions(hello)
    message = ClientHello().create(
        hello.version,
        bytearray(hello.random),
        bytearray(hello.session_id),
        list(hello.cipher_suites),
        extensions=exts,
    )
    message.compression_methods = list(hello.compression_methods)
    return bytes(message.write())[4:]


def decode_client_hello(body: bytes) -> Hello:
    message = _parse_hello(ClientHello(), body)
    extensions, block = _extensions_of(message)
    return Hello(
        tuple(message.client_version),  # type: ignore[arg-type]
        bytes(message.random),
        bytes(message.session_id),
        list(message.cipher_suites),
        list(message.compression_methods),
        extensions,
        block,
    )


def encode_server_hello(hello: Hello) -> bytes:
    exts = _hello_extensions(hello)
    message = ServerHello().create(
        hello.version,
        bytearray(hello.random),
        bytearray(hello.session_id),
        hello.cipher_suites[0],
        extensions=exts,
    )
    message.compression_method = hello.compression_methods[0]
    return bytes(message.write())[4:]


def decode_server_hello(body: bytes) -> Hello:
    message = _parse_hello(ServerHello(), body)
    extensions, block = _extensions_of(message)
    return Hello(
        tuple(message.server_version),  # type: ignore[arg-type]
        bytes(message.random),
        bytes(message.session_id),
        [message.cipher_suite],
        [message.compression_method],
        extensions,
        block,
    )


# DTLS (RFC 6347 section 4.2.1) ------------------------------------------------------------

MAX_COOKIE_LENGTH = 255  # opaque cookie<0..2^8-1>


def _cookie_offset(body: bytes) -> int:
    """Where the DTLS cookie field starts: after client_version, random and session_id."""
    if len(body) < 35 or 35 + body[34] > len(body):
        raise ProtocolError(alerts.DECODE_ERROR, "DTLS ClientHello too short for its session_id")
    return 35 + body[34]


def encode_dtls_client_hello(hello: Hello, cookie: bytes) -> bytes:
    """The DTLS ClientHello is the TLS one with ``opaque cookie<0..2^8-1>`` inserted after
    session_id; the rest of the codec is tlslite's."""
    if len(cookie) > MAX_COOKIE_LENGTH:
        raise ValueError("DTLS cookie longer than 255 octets")
    body = encode_client_hello(hello)
    at = _cookie_offset(body)
    return body[:at] + bytes([len(cookie)]) + cookie + body[at:]


def split_dtls_client_hello(body: bytes) -> tuple[bytes, bytes]:
    """(cookie, the body without the cookie field, i.e. in the TLS layout)."""
    at = _cookie_offset(body)
    if at >= len(body) or at + 1 + body[at] > len(body):
        raise ProtocolError(alerts.DECODE_ERROR, "DTLS ClientHello cookie overruns the message")
    end = at + 1 + body[at]
    return body[at + 1 : end], body[:at] + body[end:]


def decode_dtls_client_hello(body: bytes) -> tuple[Hello, bytes]:
    """(hello, cookie) from a DTLS ClientHello body."""
    cookie, tls_body = split_dtls_client_hello(body)
    return decode_client_hello(tls_body), cookie


def encode_hello_verify_request(version: tuple[int, int], cookie: bytes) -> bytes:
    if len(cookie) > MAX_COOKIE_LENGTH:
        raise ValueError("DTLS cookie longer than 255 octets")
    return bytes([version[0], version[1], len(cookie)]) + cookie


def decode_hello_verify_request(body: bytes) -> tuple[tuple[int, int], bytes]:
    """(server_version, cookie); anything but exactly those fields is a decode_error."""
    if len(body) < 3 or len(body) != 3 + body[2]:
        raise ProtocolError(alerts.DECODE_ERROR, "malformed HelloVerifyRequest")
    return (body[0], body[1]), body[3:]


# RFC 4279 messages ------------------------------------------------------------------


@dataclass
class ServerKeyExchange:
    """RFC 4279 ServerKeyExchange: psk_identity_hint, plus unsigned DH parameters for DHE_PSK."""

    psk_identity_hint: bytes
    dh_p: int | None = None
    dh_g: int | None = None
    dh_ys: int | None = None

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"psk_identity_hint": self.psk_identity_hint.hex()}
        if self.dh_p is not None:
            out.update(
                dh_p=_int_hex(self.dh_p),
                dh_g=_int_hex(self.dh_g or 0),
                dh_Ys=_int_hex(self.dh_ys or 0),
            )
        return out


@dataclass
class ClientKeyExchange:
    """RFC 4279 ClientKeyExchange: psk_identity, plus dh_Yc for DHE_PSK."""

    psk_identity: bytes
    dh_yc: int | None = None

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"psk_identity": self.psk_identity.hex()}
        if self.dh_yc is not None:
            out["dh_Yc"] = _int_hex(self.dh_yc)
        return out


def _int_hex(value: int) -> str:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big").hex()


def int_to_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def _add_opaque16(writer: Writer, data: bytes) -> None:
    writer.add(len(data), 2)
    writer.bytes += bytearray(data)


def encode_server_key_exchange(ske: ServerKeyExchange | EcdheServerKeyExchange) -> bytes:
    if isinstance(ske, EcdheServerKeyExchange):
        return ske.encode()
    w = Writer()
    _add_opaque16(w, ske.psk_identity_hint)
    if ske.dh_p is not None:
        for value in (ske.dh_p, ske.dh_g, ske.dh_ys):
            _add_opaque16(w, int_to_bytes(value or 0))
    return bytes(w.bytes)


def _opaque16_list(body: bytes, count: int, what: str) -> list[bytes]:
    p = Parser(bytearray(body))
    try:
        items = [bytes(p.getVarBytes(2)) for _ in range(count)]
    except (DecodeError, SyntaxError, ValueError, IndexError) as exc:
        raise ProtocolError(alerts.DECODE_ERROR, f"malformed {what}: {exc}") from exc
    if p.getRemainingLength():
        raise ProtocolError(
            alerts.DECODE_ERROR, f"{what} has {p.getRemainingLength()} trailing octets"
        )
    return items


def decode_server_key_exchange(body: bytes, dhe: bool) -> ServerKeyExchange:
    if not dhe:
        (hint,) = _opaque16_list(body, 1, "PSK ServerKeyExchange")
        return ServerKeyExchange(hint)
    hint, p, g, ys = _opaque16_list(body, 4, "DHE_PSK ServerKeyExchange")
    if not p or not g or not ys:
        raise ProtocolError(alerts.DECODE_ERROR, "empty DH parameter in ServerKeyExchange")
    return ServerKeyExchange(
        hint, int.from_bytes(p, "big"), int.from_bytes(g, "big"), int.from_bytes(ys, "big")
    )


def encode_client_key_exchange(cke: ClientKeyExchange, dh_length: int = 0) -> bytes:
    """``dh_length`` pads dh_Yc to the size of p, as OpenSSL and GnuTLS send it."""
    w = Writer()
    _add_opaque16(w, cke.psk_identity)
    if cke.dh_yc is not None:
        _add_opaque16(
            w, cke.dh_yc.to_bytes(max(dh_length, (cke.dh_yc.bit_length() + 7) // 8), "big")
        )
    return bytes(w.bytes)


def decode_client_key_exchange(body: bytes, dhe: bool) -> ClientKeyExchange:
    if not dhe:
        (identity,) = _opaque16_list(body, 1, "PSK ClientKeyExchange")
        return ClientKeyExchange(identity)
    identity, yc = _opaque16_list(body, 2, "DHE_PSK ClientKeyExchange")
    if not yc:
        raise ProtocolError(alerts.DECODE_ERROR, "empty dh_Yc")
    return ClientKeyExchange(identity, int.from_bytes(yc, "big"))


# RFC 8422 / RFC 5246 7.4 messages of the ECDHE_ECDSA handshake ---------------------------

EXT_SUPPORTED_GROUPS = 10
EXT_EC_POINT_FORMATS = 11
EXT_SIGNATURE_ALGORITHMS = 13


def _parser(body: bytes) -> Parser:
    return Parser(bytearray(body))


def _decoded(what: str, parse: Any) -> Any:
    """Run ``parse`` (which reads a Parser), turning tlslite's errors into decode_error."""
    try:
        return parse()
    except (DecodeError, SyntaxError, ValueError, IndexError) as exc:
        raise ProtocolError(alerts.DECODE_ERROR, f"malformed {what}: {exc}") from exc


def _no_trailing(p: Parser, what: str) -> None:
    if p.getRemainingLength():
        raise ProtocolError(
            alerts.DECODE_ERROR, f"{what} has {p.getRemainingLength()} trailing octets"
        )


@dataclass
class EcdheServerKeyExchange:
    """RFC 8422 section 5.4: ServerECDHParams (named_curve + ECPoint) and the TLS 1.2
    digitally-signed struct over client_random + server_random + params."""

    curve_type: int
    named_curve: int
    point: bytes
    signature_algorithm: tuple[int, int]
    signature: bytes

    psk_identity_hint = None  # no psk in this exchange (the engine reads the attribute)

    @property
    def params(self) -> bytes:
        """ServerECDHParams as signed: curve_type, named_curve, opaque point<1..2^8-1>."""
        return (
            bytes([self.curve_type])
            + self.named_curve.to_bytes(2, "big")
            + bytes([len(self.point)])
            + self.point
        )

    def encode(self) -> bytes:
        sig = len(self.signature).to_bytes(2, "big") + self.signature
        return self.params + bytes(self.signature_algorithm) + sig

    def fields(self) -> dict[str, Any]:
        return {
            "curve_type": self.curve_type,
            "named_curve": self.named_curve,
            "public": self.point.hex(),
            "signature_algorithm": list(self.signature_algorithm),
            "signature": self.signature.hex(),
        }


def decode_ecdhe_server_key_exchange(body: bytes) -> EcdheServerKeyExchange:
    def parse() -> EcdheServerKeyExchange:
        p = _parser(body)
        curve_type = p.get(1)
        if curve_type != 3:
            # explicit_prime / explicit_char2 (deprecated by RFC 8422): nothing else follows
            # that this engine reads; the caller refuses the curve type.
            return EcdheServerKeyExchange(curve_type, 0, b"", (0, 0), b"")
        curve = p.get(2)
        point = bytes(p.getVarBytes(1))
        algorithm = (p.get(1), p.get(1))
        signature = bytes(p.getVarBytes(2))
        _no_trailing(p, "ECDHE ServerKeyExchange")
        if not point:
            raise ProtocolError(alerts.DECODE_ERROR, "empty ECPoint in ServerKeyExchange")
        return EcdheServerKeyExchange(curve_type, curve, point, algorithm, signature)

    return _decoded("ECDHE ServerKeyExchange", parse)  # type: ignore[no-any-return]


@dataclass
class EcdheClientKeyExchange:
    """RFC 8422 section 5.7: ClientECDiffieHellmanPublic, the explicit ECPoint."""

    point: bytes
    psk_identity = b""  # no psk in this exchange

    def encode(self) -> bytes:
        return bytes([len(self.point)]) + self.point

    def fields(self) -> dict[str, Any]:
        return {"public": self.point.hex()}


def decode_ecdhe_client_key_exchange(body: bytes) -> EcdheClientKeyExchange:
    def parse() -> EcdheClientKeyExchange:
        p = _parser(body)
        point = bytes(p.getVarBytes(1))
        _no_trailing(p, "ECDHE ClientKeyExchange")
        if not point:
            raise ProtocolError(alerts.DECODE_ERROR, "empty ECPoint in ClientKeyExchange")
        return EcdheClientKeyExchange(point)

    return _decoded("ECDHE ClientKeyExchange", parse)  # type: ignore[no-any-return]


def encode_certificate(chain: list[bytes]) -> bytes:
    """RFC 5246 7.4.2: ASN.1Cert certificate_list<0..2^24-1>, each opaque<1..2^24-1>."""
    items = b"".join(len(c).to_bytes(3, "big") + c for c in chain)
    return len(items).to_bytes(3, "big") + items


def decode_certificate(body: bytes) -> list[bytes]:
    def parse() -> list[bytes]:
        p = _parser(body)
        total = p.get(3)
        if total != p.getRemainingLength():
            raise ProtocolError(
                alerts.DECODE_ERROR,
                f"certificate_list length {total} but {p.getRemainingLength()} octets follow",
            )
        chain = []
        while p.getRemainingLength():
            cert = bytes(p.getVarBytes(3))
            if not cert:
                raise ProtocolError(alerts.DECODE_ERROR, "empty ASN.1Cert in Certificate")
            chain.append(cert)
        return chain

    return _decoded("Certificate", parse)  # type: ignore[no-any-return]


@dataclass
class CertificateRequest:
    """RFC 5246 7.4.4 (TLS 1.2 form)."""

    certificate_types: list[int]
    signature_algorithms: list[tuple[int, int]]
    certificate_authorities: list[bytes] = field(default_factory=list)  # DER Names

    def encode(self) -> bytes:
        types = bytes([len(self.certificate_types)]) + bytes(self.certificate_types)
        algs = b"".join(bytes(a) for a in self.signature_algorithms)
        cas = b"".join(len(n).to_bytes(2, "big") + n for n in self.certificate_authorities)
        return types + len(algs).to_bytes(2, "big") + algs + len(cas).to_bytes(2, "big") + cas

    def fields(self) -> dict[str, Any]:
        return {
            "certificate_types": list(self.certificate_types),
            "signature_algorithms": [list(a) for a in self.signature_algorithms],
            "certificate_authorities": [n.hex() for n in self.certificate_authorities],
        }


def decode_certificate_request(body: bytes) -> CertificateRequest:
    def parse() -> CertificateRequest:
        p = _parser(body)
        types = list(p.getVarBytes(1))
        algs_raw = bytes(p.getVarBytes(2))
        cas_raw = bytes(p.getVarBytes(2))
        _no_trailing(p, "CertificateRequest")
        if not types or not algs_raw or len(algs_raw) % 2:
            raise ProtocolError(
                alerts.DECODE_ERROR, "CertificateRequest with an empty or odd-length vector"
            )
        algs = [(algs_raw[i], algs_raw[i + 1]) for i in range(0, len(algs_raw), 2)]
        q = _parser(cas_raw)
        cas = []
        while q.getRemainingLength():
            cas.append(bytes(q.getVarBytes(2)))
        return CertificateRequest(types, algs, cas)

    return _decoded("CertificateRequest", parse)  # type: ignore[no-any-return]


def encode_digitally_signed(algorithm: tuple[int, int], signature: bytes) -> bytes:
    """RFC 5246 4.7 digitally-signed struct: SignatureAndHashAlgorithm + opaque<0..2^16-1>."""
    return bytes(algorithm) + len(signature).to_bytes(2, "big") + signature


def decode_digitally_signed(body: bytes, what: str) -> tuple[tuple[int, int], bytes]:
    def parse() -> tuple[tuple[int, int], bytes]:
        p = _parser(body)
        algorithm = (p.get(1), p.get(1))
        signature = bytes(p.getVarBytes(2))
        _no_trailing(p, what)
        return algorithm, signature

    return _decoded(what, parse)  # type: ignore[no-any-return]


def describe_certificate_message(body: bytes) -> dict[str, Any]:
    """The peer's chain as DER hex, and per certificate the fields the checks read."""
    chain = decode_certificate(body)
    return {
        "chain_length": len(chain),
        "certificates": [describe_certificate(c) for c in chain],
    }


def decode_finished(body: bytes) -> bytes:
    if len(body) != 12:
        raise ProtocolError(
            alerts.DECODE_ERROR, f"Finished verify_data is {len(body)} octets, not 12"
        )
    return body


def encode_alert(level: int, description: int) -> bytes:
    return bytes([level, description])


def decode_alert(payload: bytes) -> tuple[int, int]:
    if len(payload) != 2:
        raise ProtocolError(alerts.DECODE_ERROR, f"alert record of {len(payload)} octets")
    return payload[0], payload[1]


def describe(
    msg_type: int,
    body: bytes,
    dhe: bool | None = None,
    dtls: bool = False,
    key_exchange: str | None = None,
) -> dict[str, Any]:
    """Best-effort decoded fields for the trace; never raises (fields on error say why).

    ``key_exchange`` "ECDHE_ECDSA": the key exchange messages in their RFC 8422 form, and
    Certificate, CertificateRequest and CertificateVerify decoded (otherwise, as in a PSK
    handshake where they have no place, they are described by their bytes).
    """
    try:
        if key_exchange == "ECDHE_ECDSA":
            if msg_type == SERVER_KEY_EXCHANGE:
                return decode_ecdhe_server_key_exchange(body).fields()
            if msg_type == CLIENT_KEY_EXCHANGE:
                return decode_ecdhe_client_key_exchange(body).fields()
            if msg_type == CERTIFICATE:
                return describe_certificate_message(body)
            if msg_type == CERTIFICATE_REQUEST:
                return decode_certificate_request(body).fields()
            if msg_type == CERTIFICATE_VERIFY:
                algorithm, signature = decode_digitally_signed(body, "CertificateVerify")
                return {"signature_algorithm": list(algorithm), "signature": signature.hex()}
        if msg_type == CLIENT_HELLO and dtls:
            hello, cookie = decode_dtls_client_hello(body)
            return {**hello.fields(client=True), "cookie": cookie.hex()}
        if msg_type == CLIENT_HELLO:
            return decode_client_hello(body).fields(client=True)
        if msg_type == HELLO_VERIFY_REQUEST:
            version, cookie = decode_hello_verify_request(body)
            return {"server_version": _version_text(version), "cookie": cookie.hex()}
        if msg_type == SERVER_HELLO:
            return decode_server_hello(body).fields(client=False)
        if msg_type == SERVER_KEY_EXCHANGE:
            return decode_server_key_exchange(body, bool(dhe)).fields()
        if msg_type == CLIENT_KEY_EXCHANGE:
            return decode_client_key_exchange(body, bool(dhe)).fields()
        if msg_type == FINISHED:
            return {"verify_data": body.hex()}
        if msg_type == SERVER_HELLO_DONE:
            return {}
    except ProtocolError as exc:
        return {"decode_error": exc.reason, "body": body.hex()}
    return {"body": body.hex()}
