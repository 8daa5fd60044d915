"""What a reference role reports of a connection: exporter values and the alert line.

Shared by every framework's reference roles so that all of them name keys and alerts in
the same way in their :class:`~harness.sut.contract.SutResult`.
"""

from __future__ import annotations

from harness.reference.libssl import AlertEvent, SslConnection
from harness.sut.contract import ExportRequest


def export_key_name(export: ExportRequest) -> str:
    """The SutResult.keys entry for one exporter request: the label for the RFC 5705
    "no context" form, ``label|<context hex>`` when a context was given."""
    return export.label if export.context is None else f"{export.label}|{export.context}"


def exports(connection: SslConnection, requests: list[ExportRequest]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for export in requests:
        context = None if export.context is None else bytes.fromhex(export.context)
        value = connection.export_keying_material(export.label, export.length, context)
        keys[export_key_name(export)] = value.hex()
    return keys


def alert_summary(alerts: list[AlertEvent], alert_sent: bool = True) -> tuple[str | None, str]:
    """The alert to report (the fatal one sent, else one received) and a detail line;
    ``alert_sent=False`` when a fault withheld the alerts the role queued."""
    sent = [a for a in alerts if a.direction == "sent"] if alert_sent else []
    received = [a for a in alerts if a.direction == "received"]
    for chosen in (sent, received):
        if chosen:
            alert = next((a for a in chosen if a.fatal), chosen[-1])
            kind = "fatal" if alert.fatal else "warning"
            return alert.text, f"{alert.direction} {kind} alert {alert.text}"
    return None, "no alert"
