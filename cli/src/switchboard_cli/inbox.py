"""What ``switchboard listen`` decides about one delivery, as plain functions: is it signed by the webhook's
secret, and the line that reports it.

A delivery carries the Standard Webhooks headers (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
and seed 000's and seed 003's hex signatures (``X-Chatbots-Signature: sha256=<hex>``, ``X-Webhook-Signature``).
The signature is ``ok`` only when the Standard Webhooks signature is there and verifies, and every seed header
that is present verifies too: a receiver may check any one of them, so each must hold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from switchboard_contracts import signing
from switchboard_contracts.timestamps import utc_z

ATTEMPT_HEADER = "X-Switchboard-Attempt"


def signature_problem(
    secrets: Sequence[str], headers: Mapping[str, str], body: bytes, now: datetime | None = None
) -> str | None:
    """None when the delivery is signed by one of ``secrets``; otherwise why not (never a secret)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        signing.verify_standard(secrets, lowered, body, now=now)
    except signing.SignatureError as exc:
        return f"standard webhooks: {exc}"
    for header in (signing.CHATBOTS_SIGNATURE_HEADER, signing.WEBHOOK_SIGNATURE_HEADER):
        value = lowered.get(header.lower())
        if value is None:
            continue
        try:
            signing.verify_hex_signature(secrets, body, value)
        except signing.SignatureError as exc:
            return f"{header}: {exc}"
    return None


def request_fields(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """What a delivery says about itself: event type, webhook-id, attempt and the JSON payload."""
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        payload: Any = json.loads(body) if body else None
    except ValueError:
        payload = body.decode(errors="replace")
    event = lowered.get(signing.CHATBOTS_EVENT_HEADER.lower())
    if event is None and isinstance(payload, dict) and isinstance(payload.get("event"), str):
        event = payload["event"]
    raw_attempt = lowered.get(ATTEMPT_HEADER.lower(), "")
    return {
        "event": event,
        "webhook_id": lowered.get(signing.STANDARD_ID_HEADER),
        "attempt": int(raw_attempt) if raw_attempt.isdigit() else None,
        "payload": payload,
    }


@dataclass(frozen=True)
class Forwarded:
    url: str
    status: int | None
    error: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One request the inbox received and how it answered."""

    received_at: datetime
    event: str | None
    webhook_id: str | None
    attempt: int | None
    problem: str | None
    latency_ms: float
    status: int
    forwarded: Forwarded | None
    payload: Any

    @property
    def verified(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        """The inbox's line for people, e.g.
        ``05:41:02  message.created  webhook-id msg_…  attempt 1  signature ok  latency 0.4 ms``."""
        signature = "signature ok" if self.verified else f"signature failed ({self.problem})"
        parts = [
            self.received_at.astimezone().strftime("%H:%M:%S"),
            self.event or "(no event type)",
            f"webhook-id {self.webhook_id or '-'}",
            f"attempt {self.attempt if self.attempt is not None else '-'}",
            signature,
            f"latency {self.latency_ms:.1f} ms",
        ]
        if self.forwarded is not None:
            answer = (
                str(self.forwarded.status)
                if self.forwarded.error is None
                else f"failed: {self.forwarded.error}"
            )
            parts.append(f"-> {answer} {self.forwarded.url}")
        return "  ".join(parts)

    def record(self) -> dict[str, Any]:
        """The inbox's line for scripts (``--json``): one JSON object."""
        forwarded = None
        if self.forwarded is not None:
            forwarded = {
                "url": self.forwarded.url,
                "status": self.forwarded.status,
                "error": self.forwarded.error,
            }
        return {
            "received_at": utc_z(self.received_at, "milliseconds"),
            "event": self.event,
            "webhook_id": self.webhook_id,
            "attempt": self.attempt,
            "signature": "ok" if self.verified else "failed",
            "signature_error": self.problem,
            "latency_ms": round(self.latency_ms, 1),
            "status": self.status,
            "forwarded": forwarded,
            "payload": self.payload,
        }
