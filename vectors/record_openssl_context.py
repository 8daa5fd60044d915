"""Record RFC 5705 exporter vectors *with* a context value from OpenSSL's libssl.

OpenSSL's command-line tools can only print the "no context" form, so this drives two
libssl objects (client and server, TLS 1.2 PSK, in memory) through the reference
implementation's ctypes wrapper (harness/reference/libssl.py) and asks libssl itself for
the randoms, the master key and ``SSL_export_keying_material`` with use_context 0 and 1.
Run by hand: ``PYTHONPATH=. python vectors/record_openssl_context.py > vectors/tls12_exporter_openssl.json``.
"""

from __future__ import annotations

import ctypes
import datetime
import json
import sys

from harness.reference.libssl import SslConnection, SslContext

PSK = bytes.fromhex("0b7e151628aed2a6abf7158809cf4f3c")
IDENTITY = b"0123456789abcdef0123456789abcdef@maf.example.com"
CASES = [
    ("EXPORTER-oneM2M-Connection", 48, None, "no context"),
    ("EXPORTER-oneM2M-Connection", 48, b"", "empty context (differs from no context)"),
    ("EXPORTER-oneM2M-Connection", 48, bytes.fromhex("00112233445566778899"), "10-octet context"),
    ("EXPORTER-oneM2M-Bootstrap", 48, None, "bootstrap label, no context"),
    ("EXPORTER-oneM2M-Bootstrap", 32, b"oneM2M", "bootstrap label, ASCII context"),
    ("EXPERIMENTAL-m2mconf", 100, bytes(300), "300-octet context, 100-octet output"),
]

_ssl = ctypes.CDLL("libssl.so.3")
_ssl.SSL_get_client_random.restype = ctypes.c_size_t
_ssl.SSL_get_client_random.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
_ssl.SSL_get_server_random.restype = ctypes.c_size_t
_ssl.SSL_get_server_random.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
_ssl.SSL_get_session.restype = ctypes.c_void_p
_ssl.SSL_get_session.argtypes = [ctypes.c_void_p]
_ssl.SSL_SESSION_get_master_key.restype = ctypes.c_size_t
_ssl.SSL_SESSION_get_master_key.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
_ssl.OpenSSL_version.restype = ctypes.c_char_p
_ssl.OpenSSL_version.argtypes = [ctypes.c_int]


def _get(function: object, ptr: int, size: int) -> bytes:
    out = ctypes.create_string_buffer(size)
    n = function(ptr, out, size)  # type: ignore[operator]
    return out.raw[:n]


def handshake(cipher: str) -> SslConnection:
    server_ctx = SslContext(server=True, cipher_list=cipher)
    server_ctx.set_psk_server(lambda identity: PSK if identity == IDENTITY else None)
    client_ctx = SslContext(server=False, cipher_list=cipher)
    client_ctx.set_psk_client(lambda _hint: (IDENTITY, PSK))
    client, server = SslConnection(client_ctx), SslConnection(server_ctx)
    for _ in range(20):
        client.do_handshake()
        server.feed(client.take())
        server.do_handshake()
        client.feed(server.take())
        if client.handshake_done and server.handshake_done:
            break
    assert client.handshake_done and server.handshake_done
    for label, length, context, _ in CASES:
        assert client.export_keying_material(
            label, length, context
        ) == server.export_keying_material(label, length, context)
    return client


def main() -> None:
    client = handshake("PSK-AES128-CCM")
    ptr = client.ptr
    client_random = _get(_ssl.SSL_get_client_random, ptr, 32)
    server_random = _get(_ssl.SSL_get_server_random, ptr, 32)
    master = _get(_ssl.SSL_SESSION_get_master_key, _ssl.SSL_get_session(ptr), 48)
    tests = []
    for number, (label, length, context, comment) in enumerate(CASES, start=1):
        tests.append(
            {
                "tcId": number,
                "comment": comment,
                "flags": ["NoContext" if context is None else "WithContext"],
                "label": label.encode().hex(),
                "context": None if context is None else context.hex(),
                "length": length,
                "output": client.export_keying_material(label, length, context).hex(),
                "result": "valid",
            }
        )
    document = {
        "algorithm": "TLS1.2-RFC5705-Exporter",
        "schema": "tls12_exporter_schema.json",
        "generatorVersion": "record_openssl_context.py",
        "header": [
            f"Recorded from {_ssl.OpenSSL_version(0).decode()} (libssl.so.3) on {datetime.date.today().isoformat()}",
            "with SSL_export_keying_material after a TLS 1.2 PSK-AES128-CCM handshake between two",
            "libssl objects (see vectors/record_openssl_context.py); master key and randoms from",
            "SSL_SESSION_get_master_key, SSL_get_client_random and SSL_get_server_random.",
        ],
        "notes": {
            "NoContext": "RFC 5705 without context: seed = client_random + server_random",
            "WithContext": "RFC 5705 with context: seed adds uint16 context length and the context",
        },
        "numberOfTests": len(tests),
        "testGroups": [
            {
                "type": "ExporterTest",
                "masterSecret": master.hex(),
                "clientRandom": client_random.hex(),
                "serverRandom": server_random.hex(),
                "tests": tests,
            }
        ],
    }
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
