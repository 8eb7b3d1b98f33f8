from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from switchboard_contracts import signing

BODY = b'{"event":"message.created","timestamp":"2026-11-23T12:00:00Z","data":{"id":"m-1"}}'


def test_chatbots_signature_matches_the_seed_formula() -> None:
    expected = "sha256=" + hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
    assert signing.chatbots_signature("s3cret", BODY) == expected


def test_webhook_signature_is_bare_hex() -> None:
    assert signing.hex_signature("s3cret", BODY) == hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()


def test_hex_verification_accepts_prefixed_and_bare_forms() -> None:
    signing.verify_hex_signature(["s3cret"], BODY, signing.chatbots_signature("s3cret", BODY))
    signing.verify_hex_signature(["s3cret"], BODY, signing.hex_signature("s3cret", BODY))


def test_hex_verification_rejects_a_tampered_body() -> None:
    header = signing.hex_signature("s3cret", BODY)
    with pytest.raises(signing.SignatureError, match="mismatch"):
        signing.verify_hex_signature(["s3cret"], BODY + b" ", header)


def test_standard_webhooks_output_verifies_with_the_reference_library() -> None:
    secret = signing.generate_secret()
    headers = signing.standard_headers([secret], "msg_2Kx", BODY)

    payload = Webhook(secret).verify(BODY, headers)

    assert payload["event"] == "message.created"


def test_reference_library_rejects_our_signature_under_another_secret() -> None:
    headers = signing.standard_headers([signing.generate_secret()], "msg_1", BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(BODY, headers)


def test_rotation_signs_with_every_secret_so_either_verifies() -> None:
    old, new = signing.generate_secret(), signing.generate_secret()
    headers = signing.standard_headers([new, old], "msg_1", BODY)

    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)


def test_we_verify_what_the_reference_library_signs() -> None:
    secret = signing.generate_secret()
    now = datetime.now(UTC)
    signature = Webhook(secret).sign("msg_9", now, BODY.decode())
    headers = {
        "webhook-id": "msg_9",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }

    signing.verify_standard([secret], headers, BODY)


def test_stale_timestamps_are_rejected() -> None:
    secret = signing.generate_secret()
    then = int((datetime.now(UTC) - timedelta(minutes=6)).timestamp())
    headers = signing.standard_headers([secret], "msg_1", BODY, timestamp=then)
    with pytest.raises(signing.SignatureError, match="tolerance"):
        signing.verify_standard([secret], headers, BODY)


def test_signature_errors_never_contain_the_secret() -> None:
    secret = signing.generate_secret()
    headers = signing.standard_headers([signing.generate_secret()], "msg_1", BODY)
    with pytest.raises(signing.SignatureError) as caught:
        signing.verify_standard([secret], headers, BODY)
    assert secret not in str(caught.value)
    assert secret.removeprefix("whsec_") not in str(caught.value)


def test_malformed_whsec_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="base64"):
        signing.secret_key("whsec_not*base64")


@pytest.mark.parametrize("offered", ["é", "sha256=Ã©", "\udcff", "\ud800abc"])
def test_non_ascii_signatures_are_a_mismatch_not_a_type_error(offered: str) -> None:
    body = b'{"a": 1}'
    with pytest.raises(signing.SignatureError):
        signing.verify_hex_signature(["s3cret"], body, offered)
    secret = signing.generate_secret()
    headers = signing.standard_headers([secret], "msg_1", body)
    with pytest.raises(signing.SignatureError):
        signing.verify_standard([secret], {**headers, "webhook-signature": f"v1,{offered}"}, body)


def test_constant_time_equal_compares_any_text_as_utf8_bytes() -> None:
    assert signing.constant_time_equal("é", "é".encode())
    assert not signing.constant_time_equal("é", "e")
    assert not signing.constant_time_equal("\ud800", "\udc00")
