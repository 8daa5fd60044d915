"""A small ctypes binding to the system's OpenSSL 3.0 libssl / libcrypto.

The reference implementation must be a TLS stack independent of the harness's own
engine (``harness.tls``, built on tlslite-ng codecs), so that every harness-versus-
reference pass is a real interoperation of two stacks. This module binds only what the
reference roles need, and wraps it in two owning objects:

- :class:`SslContext`: one ``SSL_CTX`` with the TLS 1.2-only, PSK-only settings, its
  callbacks (kept alive here: ctypes frees a CFUNCTYPE object that nothing references,
  and OpenSSL would then call freed memory).
- :class:`SslConnection`: one ``SSL`` over two memory BIOs. Bytes go in with
  :meth:`SslConnection.feed` and come out with :meth:`SslConnection.take`; no socket
  is ever given to OpenSSL, so the caller keeps every wait bounded and can see (or
  drop) each byte.

DTLS 1.2 uses the same two objects (``dtls=True``): the caller feeds one datagram per
:meth:`SslConnection.feed` and drives the retransmission timer itself
(:meth:`SslConnection.dtls_timeout`, :meth:`SslConnection.dtls_handle_timeout`), since
a memory BIO has no clock and no socket for OpenSSL to wait on.

Several constants below are C macros in the OpenSSL headers (``SSL_CTX_set_min_proto_
version``, ``SSL_set_tlsext_host_name``, ...) and reach libssl as ``SSL_CTX_ctrl`` /
``SSL_ctrl`` commands; their numbers are from OpenSSL 3.0's ``ssl.h`` / ``tls1.h``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# --- constants (OpenSSL 3.0 headers) --------------------------------------------------------

TLS1_VERSION = 0x0301
TLS1_2_VERSION = 0x0303
DTLS1_VERSION = 0xFEFF
DTLS1_2_VERSION = 0xFEFD

SSL_CTRL_SET_MTU = 17
DTLS_CTRL_GET_TIMEOUT = 73
DTLS_CTRL_HANDLE_TIMEOUT = 74
DTLS_CTRL_SET_LINK_MTU = 120

SSL_CTRL_SET_TLSEXT_HOSTNAME = 55
SSL_CTRL_SET_DH_AUTO = 118
SSL_CTRL_GET_EXTMS_SUPPORT = 122
SSL_CTRL_SET_MIN_PROTO_VERSION = 123
SSL_CTRL_SET_MAX_PROTO_VERSION = 124
TLSEXT_NAMETYPE_HOST_NAME = 0

SSL_OP_NO_QUERY_MTU = 1 << 12
SSL_OP_COOKIE_EXCHANGE = 1 << 13
SSL_OP_NO_TICKET = 1 << 14
SSL_OP_CIPHER_SERVER_PREFERENCE = 1 << 22
SSL_OP_NO_RENEGOTIATION = 1 << 30

SSL_CB_READ = 0x04
SSL_CB_WRITE = 0x08
SSL_CB_ALERT = 0x4000

SSL_SENT_SHUTDOWN = 1
SSL_RECEIVED_SHUTDOWN = 2


class SslError(enum.IntEnum):
    """``SSL_get_error`` results."""

    NONE = 0
    SSL = 1
    WANT_READ = 2
    WANT_WRITE = 3
    WANT_X509_LOOKUP = 4
    SYSCALL = 5
    ZERO_RETURN = 6
    WANT_CONNECT = 7
    WANT_ACCEPT = 8


class LibSslUnavailable(RuntimeError):
    """The system has no usable OpenSSL 3 libssl."""


# --- loading ---------------------------------------------------------------------------------

_vp = ctypes.c_void_p
_cp = ctypes.c_char_p
_int = ctypes.c_int
_uint = ctypes.c_uint
_long = ctypes.c_long
_size = ctypes.c_size_t

PSK_CLIENT_CB = ctypes.CFUNCTYPE(_uint, _vp, _cp, _vp, _uint, _vp, _uint)
"""unsigned int cb(SSL *, const char *hint, char *identity, unsigned int max_identity_len,
unsigned char *psk, unsigned int max_psk_len)"""
PSK_SERVER_CB = ctypes.CFUNCTYPE(_uint, _vp, _cp, _vp, _uint)
"""unsigned int cb(SSL *, const char *identity, unsigned char *psk, unsigned int max_psk_len)"""
MSG_CB = ctypes.CFUNCTYPE(None, _int, _int, _int, _vp, ctypes.c_size_t, _vp, _vp)
"""void cb(int write_p, int version, int content_type, const void *buf, size_t len,
SSL *ssl, void *arg)"""
INFO_CB = ctypes.CFUNCTYPE(None, _vp, _int, _int)
"""void cb(const SSL *, int where, int ret)"""
COOKIE_GENERATE_CB = ctypes.CFUNCTYPE(_int, _vp, _vp, ctypes.POINTER(_uint))
"""int cb(SSL *, unsigned char *cookie, unsigned int *cookie_len)"""
COOKIE_VERIFY_CB = ctypes.CFUNCTYPE(_int, _vp, _vp, _uint)
"""int cb(SSL *, const unsigned char *cookie, unsigned int cookie_len)"""
DTLS_TIMER_CB = ctypes.CFUNCTYPE(_uint, _vp, _uint)
"""unsigned int cb(SSL *, unsigned int timer_us): the next retransmission timeout (us)"""


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", _long), ("tv_usec", _long)]


_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    # libssl: contexts
    "TLS_method": (_vp, []),
    "DTLS_method": (_vp, []),
    "SSL_CTX_new": (_vp, [_vp]),
    "SSL_CTX_free": (None, [_vp]),
    "SSL_CTX_ctrl": (_long, [_vp, _int, _long, _vp]),
    "SSL_CTX_set_cipher_list": (_int, [_vp, _cp]),
    "SSL_CTX_set_security_level": (None, [_vp, _int]),
    "SSL_CTX_set_options": (ctypes.c_uint64, [_vp, ctypes.c_uint64]),
    "SSL_CTX_set_psk_client_callback": (None, [_vp, PSK_CLIENT_CB]),
    "SSL_CTX_set_psk_server_callback": (None, [_vp, PSK_SERVER_CB]),
    "SSL_CTX_use_psk_identity_hint": (_int, [_vp, _cp]),
    "SSL_CTX_set_info_callback": (None, [_vp, INFO_CB]),
    "SSL_CTX_set_msg_callback": (None, [_vp, MSG_CB]),
    "SSL_CTX_set_cookie_generate_cb": (None, [_vp, COOKIE_GENERATE_CB]),
    "SSL_CTX_set_cookie_verify_cb": (None, [_vp, COOKIE_VERIFY_CB]),
    "DTLS_set_timer_cb": (None, [_vp, DTLS_TIMER_CB]),
    # libssl: connections
    "SSL_new": (_vp, [_vp]),
    "SSL_free": (None, [_vp]),
    "SSL_ctrl": (_long, [_vp, _int, _long, _vp]),
    "SSL_set_bio": (None, [_vp, _vp, _vp]),
    "SSL_set_connect_state": (None, [_vp]),
    "SSL_set_accept_state": (None, [_vp]),
    "SSL_do_handshake": (_int, [_vp]),
    "SSL_is_init_finished": (_int, [_vp]),
    "SSL_get_error": (_int, [_vp, _int]),
    "SSL_read": (_int, [_vp, _vp, _int]),
    "SSL_write": (_int, [_vp, _vp, _int]),
    "SSL_shutdown": (_int, [_vp]),
    "SSL_get_shutdown": (_int, [_vp]),
    "SSL_get_current_cipher": (_vp, [_vp]),
    "SSL_CIPHER_get_protocol_id": (ctypes.c_uint16, [_vp]),
    "SSL_CIPHER_get_name": (_cp, [_vp]),
    "SSL_get_psk_identity": (_cp, [_vp]),
    "SSL_get_servername": (_cp, [_vp, _int]),
    "SSL_export_keying_material": (_int, [_vp, _vp, _size, _cp, _size, _vp, _size, _int]),
    "SSL_alert_desc_string_long": (_cp, [_int]),
    "SSL_alert_type_string_long": (_cp, [_int]),
    "SSL_get_version": (_cp, [_vp]),
    # libcrypto: memory BIOs and the error queue
    "BIO_s_mem": (_vp, []),
    "BIO_new": (_vp, [_vp]),
    "BIO_free": (_int, [_vp]),
    "BIO_write": (_int, [_vp, _vp, _int]),
    "BIO_read": (_int, [_vp, _vp, _int]),
    "BIO_ctrl_pending": (_size, [_vp]),
    "ERR_get_error": (ctypes.c_ulong, []),
    "ERR_error_string_n": (None, [ctypes.c_ulong, _cp, _size]),
    "ERR_clear_error": (None, []),
}


class _Lib:
    """The loaded functions, looked up once, with their C signatures set."""

    def __init__(self) -> None:
        ssl = _load("ssl", ("libssl.so.3",))
        crypto = _load("crypto", ("libcrypto.so.3",))
        for name, (restype, argtypes) in _SIGNATURES.items():
            library = crypto if name.startswith(("BIO_", "ERR_")) else ssl
            function = getattr(library, name)
            function.restype = restype
            function.argtypes = argtypes
            setattr(self, name, function)

    def __getattr__(self, name: str) -> Callable[..., object]:  # for type checkers only
        raise AttributeError(name)


def _load(short: str, candidates: tuple[str, ...]) -> ctypes.CDLL:
    for candidate in (*candidates, ctypes.util.find_library(short)):
        if not candidate:
            continue
        try:
            library = ctypes.CDLL(candidate)
        except OSError:
            continue
        if short == "ssl" and not hasattr(library, "SSL_CTX_set_psk_server_callback"):
            continue
        return library
    raise LibSslUnavailable(f"OpenSSL 3 lib{short} not found (tried {', '.join(candidates)})")


_LIB: _Lib | None = None


def lib() -> _Lib:
    """The bound library (loaded on first use, so importing never fails)."""
    global _LIB
    if _LIB is None:
        _LIB = _Lib()
    return _LIB


def error_queue_text() -> str:
    """Drain this thread's OpenSSL error queue into one line (OpenSSL's own wording)."""
    lines: list[str] = []
    buffer = ctypes.create_string_buffer(256)
    while code := lib().ERR_get_error():
        lib().ERR_error_string_n(code, buffer, len(buffer))
        lines.append(buffer.value.decode(errors="replace"))
    return "; ".join(lines)


def alert_text(code: int) -> str:
    """OpenSSL's long name of an alert description, e.g. 'unknown PSK identity'."""
    raw = lib().SSL_alert_desc_string_long(code)
    return raw.decode() if raw else f"alert {code}"


# --- owning wrappers -------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertEvent:
    """An alert OpenSSL sent or received, seen through the info callback."""

    direction: str  # "sent" | "received"
    level: int  # 1 warning, 2 fatal
    description: int  # RFC 5246 AlertDescription code
    text: str  # OpenSSL's long description

    @property
    def fatal(self) -> bool:
        return self.level == 2


PskClientCallback = Callable[[str | None], tuple[bytes, bytes] | None]
"""hint -> (psk_identity, psk) or None to abort the handshake."""
PskServerCallback = Callable[[bytes], bytes | None]
"""psk_identity -> psk, or None: unknown identity (OpenSSL sends unknown_psk_identity)."""
CookieGenerate = Callable[[], bytes]
"""() -> the cookie for the ClientHello being processed (at most 255 octets)."""
CookieVerify = Callable[[bytes], bool]
"""cookie -> whether it is the one this server gave the sender of the ClientHello."""

DTLS_COOKIE_MAX = 255  # DTLS1_COOKIE_LENGTH
DTLS_MAX_TIMER = 60.0  # RFC 6347 4.2.4.1: the timer doubles up to at least 60 s


class SslContext:
    """One ``SSL_CTX`` limited to (D)TLS 1.2, with PSK callbacks and an alert log.

    The callbacks write into :attr:`alerts` and call the Python functions given, so a
    context serves one association at a time (the reference uses one per test case).
    ``min_version`` is given as a TLS version; with ``dtls=True`` it maps to the DTLS
    counterpart (below TLS 1.2: DTLS 1.0, else DTLS 1.2), so fault hooks stay
    transport-neutral.
    """

    def __init__(
        self,
        *,
        server: bool,
        cipher_list: str,
        dtls: bool = False,
        security_level: int = 0,
        min_version: int | None = None,
    ) -> None:
        self._lib = lib()
        method = self._lib.DTLS_method() if dtls else self._lib.TLS_method()
        self.ptr: int | None = self._lib.SSL_CTX_new(method)
        if not self.ptr:
            raise RuntimeError(f"SSL_CTX_new failed: {error_queue_text()}")
        self.server = server
        self.dtls = dtls
        self.alerts: list[AlertEvent] = []
        self._keep: list[object] = []  # CFUNCTYPE objects OpenSSL holds pointers to
        version = DTLS1_2_VERSION if dtls else TLS1_2_VERSION
        if dtls and min_version is not None:
            min_version = DTLS1_VERSION if min_version < TLS1_2_VERSION else DTLS1_2_VERSION
        for command, value in (
            (SSL_CTRL_SET_MIN_PROTO_VERSION, min_version or version),
            (SSL_CTRL_SET_MAX_PROTO_VERSION, version),
        ):
            if self._lib.SSL_CTX_ctrl(self.ptr, command, value, None) != 1:
                raise RuntimeError(f"cannot set protocol version: {error_queue_text()}")
        # CCM_8 and NULL suites are below OpenSSL's default security level 1.
        self._lib.SSL_CTX_set_security_level(self.ptr, security_level)
        if self._lib.SSL_CTX_set_cipher_list(self.ptr, cipher_list.encode()) != 1:
            raise ValueError(f"no usable cipher in {cipher_list!r}: {error_queue_text()}")
        # One association per handshake: no session tickets, no renegotiation.
        self._lib.SSL_CTX_set_options(self.ptr, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION)
        if dtls:
            # A memory BIO cannot report a path MTU: the caller sets the link MTU.
            self._lib.SSL_CTX_set_options(self.ptr, SSL_OP_NO_QUERY_MTU)
        if server:
            # B selects by its own preference order (the order of request.cipher_suites).
            self._lib.SSL_CTX_set_options(self.ptr, SSL_OP_CIPHER_SERVER_PREFERENCE)
            # DHE_PSK needs DH parameters; "auto" picks a group matching the suite.
            self._lib.SSL_CTX_ctrl(self.ptr, SSL_CTRL_SET_DH_AUTO, 1, None)
        info = INFO_CB(self._on_info)
        self._keep.append(info)
        self._lib.SSL_CTX_set_info_callback(self.ptr, info)

    # -- configuration --

    def set_psk_client(self, callback: PskClientCallback) -> None:
        def trampoline(
            _ssl: int, hint: bytes | None, identity: int, max_identity: int, psk: int, max_psk: int
        ) -> int:
            try:
                answer = callback(hint.decode(errors="replace") if hint is not None else None)
                if answer is None:
                    return 0
                psk_identity, key = answer
                if len(psk_identity) + 1 > max_identity or len(key) > max_psk or not key:
                    return 0
                ctypes.memmove(identity, psk_identity + b"\0", len(psk_identity) + 1)
                ctypes.memmove(psk, key, len(key))
                return len(key)
            except Exception:  # an exception must never unwind into C
                return 0

        function = PSK_CLIENT_CB(trampoline)
        self._keep.append(function)
        self._lib.SSL_CTX_set_psk_client_callback(self.ptr, function)

    def set_psk_server(self, callback: PskServerCallback, hint: str | None = None) -> None:
        """The callback receives the psk_identity exactly as sent.

        OpenSSL hands a TLS 1.2 PSK server callback the identity as a C string, so an
        identity "KpsaId\\0junk" would arrive as "KpsaId" and match: a truncation bug a
        conformant Entity B must not have (SAEF-PSK-05). The raw identity, with its
        length, is taken from the ClientKeyExchange seen by the message callback.
        """
        raw: dict[str, bytes] = {}
        header = 12 if self.dtls else 4  # DTLS handshake header carries seq and fragment

        def on_message(
            write_p: int, _v: int, content_type: int, buf: int, length: int, *_: int
        ) -> None:
            if write_p or content_type != 22 or length < header + 2:
                return
            message = ctypes.string_at(buf, length)
            if message[0] == 16:  # client_key_exchange: psk_identity<0..2^16-1> first
                size = int.from_bytes(message[header : header + 2], "big")
                raw["psk_identity"] = message[header + 2 : header + 2 + size]

        def trampoline(_ssl: int, identity: bytes | None, psk: int, max_psk: int) -> int:
            try:
                key = callback(raw.pop("psk_identity", identity or b""))
                if not key or len(key) > max_psk:
                    return 0
                ctypes.memmove(psk, key, len(key))
                return len(key)
            except Exception:
                return 0

        function = PSK_SERVER_CB(trampoline)
        observer = MSG_CB(on_message)
        self._keep += [function, observer]
        self._lib.SSL_CTX_set_psk_server_callback(self.ptr, function)
        self._lib.SSL_CTX_set_msg_callback(self.ptr, observer)
        if (
            hint is not None
            and self._lib.SSL_CTX_use_psk_identity_hint(self.ptr, hint.encode()) != 1
        ):
            raise ValueError(f"bad psk_identity_hint: {error_queue_text()}")

    def set_cookie_exchange(self, generate: CookieGenerate, verify: CookieVerify) -> None:
        """DTLS server: answer a ClientHello without a valid cookie with a
        HelloVerifyRequest (RFC 6347 4.2.1). OpenSSL gives the callbacks no peer address
        over memory BIOs, so the caller's closures know which datagram is in process."""

        def on_generate(_ssl: int, cookie: int, cookie_len: Any) -> int:
            try:
                value = generate()
                if not value or len(value) > DTLS_COOKIE_MAX:
                    return 0
                ctypes.memmove(cookie, value, len(value))
                cookie_len[0] = len(value)
                return 1
            except Exception:
                return 0

        def on_verify(_ssl: int, cookie: int, cookie_len: int) -> int:
            try:
                return 1 if verify(ctypes.string_at(cookie, cookie_len)) else 0
            except Exception:
                return 0

        generate_cb = COOKIE_GENERATE_CB(on_generate)
        verify_cb = COOKIE_VERIFY_CB(on_verify)
        self._keep += [generate_cb, verify_cb]
        self._lib.SSL_CTX_set_cookie_generate_cb(self.ptr, generate_cb)
        self._lib.SSL_CTX_set_cookie_verify_cb(self.ptr, verify_cb)
        self._lib.SSL_CTX_set_options(self.ptr, SSL_OP_COOKIE_EXCHANGE)

    def _on_info(self, _ssl: int, where: int, ret: int) -> None:
        try:
            if where & SSL_CB_ALERT:
                direction = "sent" if where & SSL_CB_WRITE else "received"
                description = ret & 0xFF
                self.alerts.append(
                    AlertEvent(direction, (ret >> 8) & 0xFF, description, alert_text(description))
                )
        except Exception:
            pass

    def free(self) -> None:
        if self.ptr:
            self._lib.SSL_CTX_free(self.ptr)
            self.ptr = None

    def __enter__(self) -> SslContext:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.free()


class SslConnection:
    """One ``SSL`` object driven over memory BIOs: the sans-IO face of libssl."""

    def __init__(self, context: SslContext, *, server_name: str | None = None) -> None:
        self._lib = lib()
        self.context = context
        self._keep: list[object] = []
        self.ptr: int | None = self._lib.SSL_new(context.ptr)
        if not self.ptr:
            raise RuntimeError(f"SSL_new failed: {error_queue_text()}")
        self._rbio = self._lib.BIO_new(self._lib.BIO_s_mem())
        self._wbio = self._lib.BIO_new(self._lib.BIO_s_mem())
        # SSL_set_bio hands both BIOs to the SSL object; SSL_free frees them.
        self._lib.SSL_set_bio(self.ptr, self._rbio, self._wbio)
        if context.server:
            self._lib.SSL_set_accept_state(self.ptr)
        else:
            self._lib.SSL_set_connect_state(self.ptr)
            if server_name is not None:
                name = ctypes.c_char_p(server_name.encode())
                ok = self._lib.SSL_ctrl(
                    self.ptr, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_HOST_NAME, name
                )
                if ok != 1:
                    raise ValueError(f"bad server_name {server_name!r}: {error_queue_text()}")

    # -- DTLS: link MTU and the retransmission timer --

    def set_link_mtu(self, mtu: int) -> None:
        """The datagram size OpenSSL fragments handshake messages to (a memory BIO adds
        no overhead, so this is the largest UDP payload it writes per record run)."""
        if self._lib.SSL_ctrl(self.ptr, DTLS_CTRL_SET_LINK_MTU, mtu, None) != 1:
            raise ValueError(f"link MTU {mtu} refused: {error_queue_text()}")

    def set_retransmission_timer(self, initial: float, maximum: float = DTLS_MAX_TIMER) -> None:
        """Start the timer at ``initial`` seconds and double it on each expiry up to
        ``maximum`` (RFC 6347 4.2.4.1; OpenSSL's own default starts at 1 s)."""
        first, ceiling = max(int(initial * 1e6), 1), max(int(maximum * 1e6), 1)

        def next_timeout(_ssl: int, timer_us: int) -> int:
            return first if timer_us == 0 else min(timer_us * 2, ceiling)

        callback = DTLS_TIMER_CB(next_timeout)
        self._keep.append(callback)
        self._lib.DTLS_set_timer_cb(self.ptr, callback)

    def dtls_timeout(self) -> float | None:
        """Seconds until the retransmission timer expires (0.0: expired), None when no
        timer runs (DTLSv1_get_timeout)."""
        value = _Timeval()
        if self._lib.SSL_ctrl(self.ptr, DTLS_CTRL_GET_TIMEOUT, 0, ctypes.byref(value)) != 1:
            return None
        return value.tv_sec + value.tv_usec / 1e6

    def dtls_handle_timeout(self) -> int:
        """DTLSv1_handle_timeout: 1 the last flight was queued again (take() it),
        0 the timer had not expired, -1 too many retransmissions (a failed handshake)."""
        return int(self._lib.SSL_ctrl(self.ptr, DTLS_CTRL_HANDLE_TIMEOUT, 0, None))

    # -- bytes in and out --

    def feed(self, data: bytes) -> None:
        """Give OpenSSL bytes received from the peer."""
        if data and self._lib.BIO_write(self._rbio, data, len(data)) != len(data):
            raise RuntimeError("BIO_write to the memory BIO failed")

    def take(self) -> bytes:
        """Everything OpenSSL wants sent to the peer, in order."""
        pending = self._lib.BIO_ctrl_pending(self._wbio)
        if not pending:
            return b""
        buffer = ctypes.create_string_buffer(pending)
        count = self._lib.BIO_read(self._wbio, buffer, pending)
        return buffer.raw[: max(count, 0)]

    # -- operations; each returns an SslError code (NONE = done) --

    def _result(self, ret: int) -> SslError:
        return SslError.NONE if ret > 0 else SslError(self._lib.SSL_get_error(self.ptr, ret))

    def do_handshake(self) -> SslError:
        return self._result(self._lib.SSL_do_handshake(self.ptr))

    def read(self, limit: int = 16384) -> tuple[SslError, bytes]:
        buffer = ctypes.create_string_buffer(limit)
        ret = self._lib.SSL_read(self.ptr, buffer, limit)
        if ret > 0:
            return SslError.NONE, buffer.raw[:ret]
        return self._result(ret), b""

    def write(self, data: bytes) -> SslError:
        return self._result(self._lib.SSL_write(self.ptr, data, len(data)))

    def shutdown(self) -> int:
        """Queue close_notify (1: the peer's close_notify was also seen, 0: not yet)."""
        return self._lib.SSL_shutdown(self.ptr)

    @property
    def peer_closed(self) -> bool:
        return bool(self._lib.SSL_get_shutdown(self.ptr) & SSL_RECEIVED_SHUTDOWN)

    # -- observations --

    @property
    def handshake_done(self) -> bool:
        return bool(self._lib.SSL_is_init_finished(self.ptr))

    @property
    def cipher_suite(self) -> int | None:
        cipher = self._lib.SSL_get_current_cipher(self.ptr)
        return int(self._lib.SSL_CIPHER_get_protocol_id(cipher)) if cipher else None

    @property
    def cipher_name(self) -> str | None:
        cipher = self._lib.SSL_get_current_cipher(self.ptr)
        return self._lib.SSL_CIPHER_get_name(cipher).decode() if cipher else None

    @property
    def version(self) -> str:
        return self._lib.SSL_get_version(self.ptr).decode()

    @property
    def psk_identity(self) -> bytes | None:
        """The psk_identity the server received (server side only)."""
        return self._lib.SSL_get_psk_identity(self.ptr)

    @property
    def server_name(self) -> str | None:
        raw = self._lib.SSL_get_servername(self.ptr, TLSEXT_NAMETYPE_HOST_NAME)
        return raw.decode(errors="replace") if raw else None

    @property
    def extended_master_secret(self) -> bool:
        return self._lib.SSL_ctrl(self.ptr, SSL_CTRL_GET_EXTMS_SUPPORT, 0, None) == 1

    def export_keying_material(self, label: str, length: int, context: bytes | None) -> bytes:
        """RFC 5705 exporter; ``context=None`` is the "no context" form (use_context 0),
        which differs from an empty context (use_context 1, length 0)."""
        out = ctypes.create_string_buffer(length)
        label_bytes = label.encode()
        if context is None:
            ret = self._lib.SSL_export_keying_material(
                self.ptr, out, length, label_bytes, len(label_bytes), None, 0, 0
            )
        else:
            ctx = ctypes.create_string_buffer(context, len(context))
            ret = self._lib.SSL_export_keying_material(
                self.ptr, out, length, label_bytes, len(label_bytes), ctx, len(context), 1
            )
        if ret != 1:
            raise RuntimeError(f"SSL_export_keying_material failed: {error_queue_text()}")
        return out.raw

    def free(self) -> None:
        if self.ptr:
            self._lib.SSL_free(self.ptr)
            self.ptr = None

    def __enter__(self) -> SslConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.free()
