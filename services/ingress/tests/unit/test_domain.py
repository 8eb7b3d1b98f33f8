"""The pure core: signature verifiers, the integrations view, ids, time and text helpers, origins, windows."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard_contracts.config_records import AnyConfig, IntegrationConfig, TenantConfig
from switchboard_contracts.partners.base import StaleTimestamp
from switchboard_contracts.partners.chatwoot import verify_signature as verify_chatwoot
from switchboard_contracts.partners.freshchat import load_public_key as load_rsa_public_key
from switchboard_contracts.partners.freshchat import verify_signature as verify_freshchat
from switchboard_contracts.partners.inbound import Origin, event_id, parse_time, strip_html
from switchboard_contracts.partners.intercom import verify_signature as verify_intercom
from switchboard_contracts.partners.zendesk import verify_signature as verify_zendesk
from switchboard_contracts.signing import SignatureError
from switchboard_ingress.adapters.dedup import store_key
from switchboard_ingress.adapters.ratelimit import slice_size
from switchboard_ingress.domain import directory as directory_module
from switchboard_ingress.domain.directory import Directory
from switchboard_ingress.domain.ratelimit import LocalWindows, window_of
from switchboard_ingress.domain.widget_policy import csrf_token_valid, issue_csrf_token, origin_allowed
from switchboard_platform.secrets_box import SecretsBox
from switchboard_testing.builders import config_record, undecided_fields

from ..harness import integration_state
from ..partners import (
    freshchat_key,
    freshchat_public_key_as_pasted,
    freshchat_sign,
    other_key,
    pem_pkcs1,
    wrap_pem,
    zendesk_sign,
)

BODY = b'{"action":"message_create"}'
NOW = datetime(2025, 1, 8, 10, 12, 7, tzinfo=UTC)


# -- signatures ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "as_pasted",
    [
        pytest.param(lambda: freshchat_public_key_as_pasted(), id="one-line-rsa-label-spki"),
        pytest.param(
            lambda: (
                "-----BEGIN PUBLIC KEY-----\n"
                + wrap_pem(freshchat_public_key_as_pasted().split(" ")[4])
                + "\n-----END PUBLIC KEY-----"
            ),
            id="standard-spki-pem",
        ),
        pytest.param(lambda: pem_pkcs1(freshchat_key()), id="real-pkcs1-pem"),
    ],
)
def test_freshchat_keys_load_however_they_were_pasted(as_pasted: object) -> None:
    key = load_rsa_public_key(as_pasted())  # type: ignore[operator]
    verify_freshchat(key, BODY, freshchat_sign(BODY))


def test_freshchat_signature_fails_after_one_appended_newline() -> None:
    key = load_rsa_public_key(freshchat_public_key_as_pasted())
    with pytest.raises(SignatureError):
        verify_freshchat(key, BODY + b"\n", freshchat_sign(BODY))


def test_freshchat_signature_from_another_key_fails() -> None:
    key = load_rsa_public_key(freshchat_public_key_as_pasted())
    with pytest.raises(SignatureError):
        verify_freshchat(key, BODY, freshchat_sign(BODY, other_key()))


def test_freshchat_garbage_signature_fails_cleanly() -> None:
    key = load_rsa_public_key(freshchat_public_key_as_pasted())
    with pytest.raises(SignatureError, match="base64"):
        verify_freshchat(key, BODY, "not base64 !!")


def test_a_non_key_is_refused() -> None:
    with pytest.raises(ValueError, match=r"RSA public key|base64"):
        load_rsa_public_key(
            "-----BEGIN PUBLIC KEY----- " + base64.b64encode(b"nope").decode() + " -----END PUBLIC KEY-----"
        )


def test_zendesk_signs_timestamp_then_body_without_separator() -> None:
    ts = "2025-01-08T10:12:00Z"
    verify_zendesk("s3cret", BODY, zendesk_sign(BODY, ts, "s3cret"), ts, tolerance_s=300, now=NOW)
    with pytest.raises(SignatureError):
        verify_zendesk("s3cret", BODY, zendesk_sign(b"." + BODY, ts, "s3cret"), ts, tolerance_s=300, now=NOW)


def test_zendesk_uses_the_secret_as_a_literal_string_not_base64() -> None:
    secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
    ts = "2025-01-08T10:12:00Z"
    decoded = base64.b64decode(secret).decode()
    with pytest.raises(SignatureError):
        verify_zendesk(secret, BODY, zendesk_sign(BODY, ts, decoded), ts, tolerance_s=300, now=NOW)


def test_zendesk_outside_the_window_is_stale_both_ways() -> None:
    for offset in (-600, 600):
        ts = (NOW + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")
        with pytest.raises(StaleTimestamp):
            verify_zendesk("s", BODY, zendesk_sign(BODY, ts, "s"), ts, tolerance_s=300, now=NOW)


def test_intercom_needs_the_sha1_prefix() -> None:
    import hashlib
    import hmac

    digest = hmac.new(b"cs", BODY, hashlib.sha1).hexdigest()
    verify_intercom("cs", BODY, f"sha1={digest}")
    with pytest.raises(SignatureError):
        verify_intercom("cs", BODY, digest)


def test_chatwoot_signs_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    ts = str(int(NOW.timestamp()))
    good = "sha256=" + hmac.new(b"k", f"{ts}.".encode() + BODY, hashlib.sha256).hexdigest()
    no_dot = "sha256=" + hmac.new(b"k", ts.encode() + BODY, hashlib.sha256).hexdigest()
    verify_chatwoot("k", BODY, good, ts, tolerance_s=300, now=NOW)
    with pytest.raises(SignatureError):
        verify_chatwoot("k", BODY, no_dot, ts, tolerance_s=300, now=NOW)
    with pytest.raises(StaleTimestamp):
        verify_chatwoot("k", BODY, good, ts, tolerance_s=300, now=NOW + timedelta(minutes=6))


# -- the integrations view -------------------------------------------------------------------------------------------


@pytest.fixture
def box() -> SecretsBox:
    return SecretsBox([SecretsBox.generate_key()])


def as_record(state: dict[str, Any], version: int = 1) -> AnyConfig:
    return config_record("integration", "i-1", "acme", state, version)


def test_directory_decrypts_once_and_finds_by_bearer(box: SecretsBox) -> None:
    directory = Directory(box)
    state = integration_state(box, "acme", "generic", verification={"bearer_token": "tok-1234567890abcdef"})
    directory.apply("integration", "i-1", 1, as_record(state))
    found = directory.by_bearer("tok-1234567890abcdef")
    assert found is not None
    assert found.id == "i-1"
    assert found.bearer_token == "tok-1234567890abcdef"
    assert directory.by_bearer("tok-other") is None


def test_rotated_bearer_token_replaces_the_old_one(box: SecretsBox) -> None:
    directory = Directory(box)
    directory.apply(
        "integration",
        "i-1",
        1,
        as_record(integration_state(box, "acme", "generic", verification={"bearer_token": "old-token"}), 1),
    )
    directory.apply(
        "integration",
        "i-1",
        2,
        as_record(integration_state(box, "acme", "generic", verification={"bearer_token": "new-token"}), 2),
    )
    assert directory.by_bearer("old-token") is None
    assert directory.by_bearer("new-token") is not None


def test_older_versions_are_ignored_and_tombstones_delete(box: SecretsBox) -> None:
    directory = Directory(box)
    directory.apply(
        "integration", "i-1", 3, as_record(integration_state(box, "acme", "generic", name="v3"), 3)
    )
    older = as_record(integration_state(box, "acme", "generic", name="v2"), 2)
    assert directory.apply("integration", "i-1", 2, older) is False
    assert directory.integration("i-1").name == "v3"  # type: ignore[union-attr]
    directory.apply("integration", "i-1", 4, None)
    assert directory.integration("i-1") is None


def test_a_secret_under_another_key_marks_the_integration_broken(box: SecretsBox) -> None:
    other = SecretsBox([SecretsBox.generate_key()])
    directory = Directory(box)
    directory.apply(
        "integration",
        "i-1",
        1,
        as_record(integration_state(other, "acme", "zendesk", verification={"signing_secret": "s"}), 1),
    )
    integration = directory.integration("i-1")
    assert integration is not None
    assert integration.broken
    assert "signing_secret" not in integration.verification


def test_reply_identities_are_our_own(box: SecretsBox) -> None:
    directory = Directory(box)
    directory.apply(
        "integration",
        "i-1",
        1,
        as_record(
            integration_state(box, "acme", "zendesk", reply={"email": "Bot@Acme.com", "author_id": 77}), 1
        ),
    )
    integration = directory.integration("i-1")
    assert integration is not None
    origin = Origin("acme", "i-1", "zendesk", integration.own_ids, integration.own_emails)
    assert origin.is_own("77")
    assert origin.is_own(None, "bot@acme.com")
    assert not origin.is_own("78")


def test_other_entities_are_not_kept(box: SecretsBox) -> None:
    directory = Directory(box)
    webhook = config_record("webhook", "w-1", "acme", {"url": "https://x", "events": ["*"], "secret": "s"})
    assert directory.apply("webhook", "w-1", 1, webhook) is False


def test_every_field_of_a_followed_record_is_read_or_declared_unused() -> None:
    # A field added to a record must be a decision here: check requests against it, or say why not.
    unused = directory_module.UNUSED_INTEGRATION_FIELDS
    assert not undecided_fields(IntegrationConfig, directory_module, unused)
    assert not undecided_fields(TenantConfig, directory_module, directory_module.UNUSED_TENANT_FIELDS)


# -- ids, times, text ------------------------------------------------------------------------------------------------


def test_event_ids_are_deterministic_per_integration() -> None:
    assert event_id("i-1", "message:1") == event_id("i-1", "message:1")
    assert event_id("i-1", "message:1") != event_id("i-2", "message:1")
    assert store_key("i-1", "k") != store_key("i-2", "k")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-08T10:12:07.672717030Z", "2025-01-08T10:12:07.672717+00:00"),
        ("2022-11-22T10:55:23.126Z", "2022-11-22T10:55:23.126000+00:00"),
        (1553291308, "2019-03-22T21:48:28+00:00"),
        (1527843600000, "2018-06-01T09:00:00+00:00"),
        ("2021-07-23T18:02:48.000+02:00", "2021-07-23T18:02:48+02:00"),
    ],
)
def test_times_in_every_platform_format(value: object, expected: str) -> None:
    assert parse_time(value).isoformat() == expected


def test_unreadable_time_falls_back_to_now() -> None:
    before = datetime.now(UTC)
    assert parse_time("January 8, 2025 10:12") >= before


def test_html_bodies_become_text() -> None:
    assert strip_html("<p>Hi &amp; welcome</p><p>Line<br>two</p>") == "Hi & welcome\nLine\ntwo"
    assert strip_html("plain text") == "plain text"


# -- widget policy ---------------------------------------------------------------------------------------------------


def test_origins_match_exactly_or_by_https_subdomain_wildcard() -> None:
    allowed = ["https://www.acme.com", "https://*.acme.io"]
    assert origin_allowed("https://www.acme.com/", allowed, development=False)
    assert origin_allowed("https://shop.acme.io", allowed, development=False)
    assert not origin_allowed("https://acme.io", allowed, development=False)
    assert not origin_allowed("http://shop.acme.io", allowed, development=False)
    assert not origin_allowed("https://www.acme.com.evil.io", allowed, development=False)
    assert not origin_allowed("http://localhost:3000", allowed, development=False)
    assert origin_allowed("http://localhost:3000", allowed, development=True)


def test_csrf_tokens_expire_and_are_bound_to_the_integration() -> None:
    token = issue_csrf_token("k", "w-1", 60, now=NOW)
    assert csrf_token_valid("k", "w-1", token, now=NOW)
    assert not csrf_token_valid("k", "w-2", token, now=NOW)
    assert not csrf_token_valid("other", "w-1", token, now=NOW)
    assert not csrf_token_valid("k", "w-1", token, now=NOW + timedelta(seconds=61))


# -- windows ---------------------------------------------------------------------------------------------------------


def test_fixed_windows_reset_on_the_minute() -> None:
    clock = [120.5]
    windows = LocalWindows(lambda: clock[0])
    assert [windows.take("k", 2, 60) for _ in range(3)][:2] == [None, None]
    assert windows.take("k", 2, 60) == pytest.approx(59.5)
    clock[0] = 180.0
    assert windows.take("k", 2, 60) is None
    assert window_of(179.2, 60).retry_after() == 1


def test_lease_slices_are_a_twentieth_of_the_limit() -> None:
    assert (slice_size(100), slice_size(10), slice_size(1_000_000)) == (5, 1, 50_000)
