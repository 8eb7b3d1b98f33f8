"""The inbox's verdict on one delivery, and the lines it prints (no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from switchboard_cli.inbox import Delivery, Forwarded, request_fields, signature_problem
from switchboard_contracts import signing

SECRET = signing.generate_secret()
BODY = json.dumps(
    {"event": "message.created", "timestamp": "2026-01-01T00:00:00Z", "data": {"id": "m-1"}}
).encode()


def signed_headers(secret: str = SECRET, body: bytes = BODY) -> dict[str, str]:
    """What the dispatcher sends a webhook: Standard Webhooks plus seed 000's and seed 003's signatures."""
    headers = signing.standard_headers([secret], "msg_1", body)
    headers[signing.CHATBOTS_SIGNATURE_HEADER] = signing.chatbots_signature(secret, body)
    headers[signing.WEBHOOK_SIGNATURE_HEADER] = signing.hex_signature(secret, body)
    headers[signing.CHATBOTS_EVENT_HEADER] = "message.created"
    headers["X-Switchboard-Attempt"] = "2"
    return headers


def test_a_delivery_signed_with_the_secret_verifies() -> None:
    assert signature_problem([SECRET], signed_headers(), BODY) is None


def test_a_rotated_secret_verifies_while_the_old_one_is_still_held() -> None:
    assert signature_problem([signing.generate_secret(), SECRET], signed_headers(), BODY) is None


def test_a_tampered_body_fails_the_standard_signature() -> None:
    problem = signature_problem([SECRET], signed_headers(), BODY.replace(b"m-1", b"m-2"))
    assert problem == "standard webhooks: no matching v1 signature"


def test_a_wrong_seed_signature_fails_even_when_the_standard_one_holds() -> None:
    headers = signed_headers()
    headers[signing.CHATBOTS_SIGNATURE_HEADER] = signing.chatbots_signature("another secret", BODY)
    assert signature_problem([SECRET], headers, BODY) == "X-Chatbots-Signature: signature mismatch"


def test_a_delivery_without_standard_webhooks_headers_fails() -> None:
    headers = {signing.WEBHOOK_SIGNATURE_HEADER: signing.hex_signature(SECRET, BODY)}
    problem = signature_problem([SECRET], headers, BODY)
    assert problem is not None
    assert problem.startswith("standard webhooks: missing")


def test_header_names_are_matched_whatever_their_case() -> None:
    lowered = {name.lower(): value for name, value in signed_headers().items()}
    assert signature_problem([SECRET], lowered, BODY) is None


def delivery(problem: str | None, forwarded: Forwarded | None = None) -> Delivery:
    return Delivery(
        received_at=datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC),
        problem=problem,
        latency_ms=3.25,
        status=200,
        forwarded=forwarded,
        **request_fields(signed_headers(), BODY),
    )


def test_the_fields_come_from_the_delivery_headers_and_body() -> None:
    fields = request_fields(signed_headers(), BODY)
    assert fields == {
        "event": "message.created",
        "webhook_id": "msg_1",
        "attempt": 2,
        "payload": json.loads(BODY),
    }


def test_the_line_names_event_id_attempt_signature_and_latency() -> None:
    line = delivery(None).line()
    assert "message.created  webhook-id msg_1  attempt 2  signature ok  latency 3.2 ms" in line


def test_a_failed_signature_and_a_forwarded_answer_show_in_the_line() -> None:
    line = delivery(
        "standard webhooks: no matching v1 signature", Forwarded("http://127.0.0.1:3000/", 500)
    ).line()
    assert "signature failed (standard webhooks: no matching v1 signature)" in line
    assert line.endswith("-> 500 http://127.0.0.1:3000/")


def test_the_json_record_says_ok_or_failed() -> None:
    assert delivery(None).record()["signature"] == "ok"
    record = delivery("bad", Forwarded("http://127.0.0.1:3000/", None, "timed out")).record()
    assert record["signature"] == "failed"
    assert record["signature_error"] == "bad"
    assert record["forwarded"] == {"url": "http://127.0.0.1:3000/", "status": None, "error": "timed out"}
    assert record["received_at"] == "2026-01-01T12:00:05.000Z"
