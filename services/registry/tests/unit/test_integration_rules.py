"""Integration rules (seeds 002 and 003) without I/O: provider fields, headers, sealing, masking, updates."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from switchboard_contracts import partners
from switchboard_contracts.events import INTEGRATION_DEFAULT_EVENTS, SLACK_DEFAULT_EVENTS
from switchboard_contracts.integrations import token_digest
from switchboard_contracts.partners.base import CredentialField, Partner
from switchboard_contracts.partners.freshchat import EXAMPLE_PUBLIC_KEY, normalize_public_key
from switchboard_platform.secrets_box import SecretsBox
from switchboard_registry.domain import integrations as rules
from switchboard_registry.domain.patch import InvalidConfig

BOX = SecretsBox([SecretsBox.generate_key()])
NOW = datetime(2025, 1, 19, 12, 0, tzinfo=UTC)


def _spki_base64(key: rsa.RSAPublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPublicKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()


def _create(**fields: Any) -> rules.IntegrationCreate:
    config = rules.integration_models().create.model_validate(fields)
    rules.check(config)
    return config


def _invalid(**fields: Any) -> InvalidConfig:
    with pytest.raises(InvalidConfig) as raised:
        _create(**fields)
    return raised.value


def _stored(config: rules.IntegrationCreate) -> dict[str, Any]:
    fields, digests = rules.sealed(config, BOX)
    return {
        "_id": "66a1f0c2e4b0a1b2c3d4e5f6",
        "created_by": "k",
        "created_at": NOW,
        "updated_at": NOW,
        **fields,
        **digests,
    }


# -- what a create accepts -------------------------------------------------------------------------------------


def test_seed_002_create_body_is_accepted_as_documented() -> None:
    config = _create(**rules.SEED_002_EXAMPLE)
    assert config.provider == "freshchat"
    assert config.timeout_seconds == 30
    assert config.retry_attempts == 3


@pytest.mark.parametrize("example", rules.create_examples(), ids=lambda example: str(example["name"]))
def test_every_openapi_example_is_a_valid_create(example: dict[str, Any]) -> None:
    _create(**example)


def test_events_default_to_the_chat_events_for_partner_platforms() -> None:
    assert rules.events_of(_create(name="x", provider="zendesk")) == list(INTEGRATION_DEFAULT_EVENTS)


def test_events_default_to_ticket_and_review_traffic_for_slack() -> None:
    config = _create(
        name="x", provider="slack", reply={"webhook_url": "https://hooks.slack.com/services/T/B/X"}
    )
    assert rules.events_of(config) == list(SLACK_DEFAULT_EVENTS)


def test_an_unknown_event_filter_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        rules.integration_models().create.model_validate(
            {"name": "x", "provider": "generic", "events": ["nope.never"]}
        )


# -- provider fields -------------------------------------------------------------------------------------------


def test_a_verification_field_of_another_provider_is_refused() -> None:
    error = _invalid(name="x", provider="freshchat", verification={"signing_secret": "zendesk-secret"})
    assert error.field == "verification.signing_secret"
    assert "public_key" in error.message


def test_slack_has_no_inbound_verification() -> None:
    error = _invalid(
        name="x",
        provider="slack",
        reply={"webhook_url": "https://hooks.slack.com/services/T/B/X"},
        verification={"bearer_token": "0123456789abcdef0123"},
    )
    assert error.field == "verification.bearer_token"


def test_reply_credentials_need_every_required_field_of_the_provider() -> None:
    error = _invalid(
        name="x", provider="chatwoot", reply={"base_url": "https://chat.acme.com", "account_id": 1}
    )
    assert error.field == "reply.api_access_token"


def test_a_reply_field_of_another_provider_is_refused() -> None:
    error = _invalid(
        name="x", provider="intercom", reply={"access_token": "t", "admin_id": "1", "inbox_id": 3}
    )
    assert error.field == "reply.inbox_id"


def test_generic_integrations_have_no_reply_api() -> None:
    assert _invalid(name="x", provider="generic", reply={"api_token": "t"}).field == "reply"


def test_slack_needs_its_incoming_webhook_url() -> None:
    assert _invalid(name="x", provider="slack").field == "reply.webhook_url"


def test_slack_refuses_the_webhook_url_in_the_public_outgoing_field() -> None:
    error = _invalid(
        name="x",
        provider="slack",
        outgoing_webhook_url="https://hooks.slack.com/services/T/B/X",
        reply={"webhook_url": "https://hooks.slack.com/services/T/B/X"},
    )
    assert error.field == "outgoing_webhook_url"


def test_a_zendesk_subdomain_is_normalised_from_the_full_host() -> None:
    config = _create(
        name="x",
        provider="zendesk",
        reply={"subdomain": "Acme.zendesk.com", "email": "a@acme.com", "api_token": "t"},
    )
    reply: Any = config.reply  # the built ReplyCredentials model
    assert reply is not None
    assert reply.subdomain == "acme"


def test_a_chatwoot_path_token_must_be_url_safe() -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        rules.integration_models().create.model_validate(
            {"name": "x", "provider": "chatwoot", "verification": {"path_token": "a/b" * 10}}
        )


# -- the Freshchat public key ----------------------------------------------------------------------------------


def test_a_freshchat_one_line_key_with_a_pkcs1_label_becomes_a_standard_pem(
    rsa_key: rsa.RSAPublicKey,
) -> None:
    pasted = f"-----BEGIN RSA PUBLIC KEY----- {_spki_base64(rsa_key)} -----END RSA PUBLIC KEY-----"

    pem = normalize_public_key(pasted)

    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    loaded = serialization.load_pem_public_key(pem.encode())
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.public_numbers() == rsa_key.public_numbers()


def test_a_real_pkcs1_key_is_accepted_too(rsa_key: rsa.RSAPublicKey) -> None:
    pkcs1 = rsa_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    assert normalize_public_key(pkcs1) == normalize_public_key(
        f"-----BEGIN PUBLIC KEY-----\n{_spki_base64(rsa_key)}\n-----END PUBLIC KEY-----"
    )


def test_a_key_pasted_with_escaped_newlines_is_accepted(rsa_key: rsa.RSAPublicKey) -> None:
    escaped = "-----BEGIN PUBLIC KEY-----\\n" + _spki_base64(rsa_key) + "\\n-----END PUBLIC KEY-----"
    assert normalize_public_key(escaped).startswith("-----BEGIN PUBLIC KEY-----")


def test_text_that_is_not_a_key_is_refused() -> None:
    with pytest.raises(ValueError, match="base64"):
        normalize_public_key("-----BEGIN PUBLIC KEY----- not a key! -----END PUBLIC KEY-----")


def test_a_non_rsa_key_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with pytest.raises(ValueError, match="not an RSA public key"):
        normalize_public_key(pem)


def test_a_short_rsa_key_is_refused() -> None:
    # A weak key on purpose: the rule under test refuses it.
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with pytest.raises(ValueError, match="at least 2048"):
        normalize_public_key(pem)


# -- custom headers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [
        ("Authorization", True),
        ("X-API-Key", True),
        ("X-Auth-Token", True),
        ("Cookie", True),
        ("X-Client-Secret", True),
        ("X-Platform", False),
        ("X-Request-Source", False),
    ],
)
def test_credential_like_header_names_are_sensitive(name: str, sensitive: bool) -> None:
    assert rules.is_sensitive_header(name) is sensitive


def test_a_header_switchboard_sets_cannot_be_overridden() -> None:
    error = _invalid(name="x", provider="generic", custom_headers={"Content-Type": "text/plain"})
    assert error.field == "custom_headers.Content-Type"


def test_switchboards_own_header_namespace_is_reserved() -> None:
    error = _invalid(name="x", provider="generic", custom_headers={"X-Switchboard-Attempt": "1"})
    assert error.field == "custom_headers.X-Switchboard-Attempt"


def test_a_header_given_twice_in_different_case_is_refused() -> None:
    error = _invalid(name="x", provider="generic", custom_headers={"X-Team": "a", "x-team": "b"})
    assert error.field == "custom_headers.x-team"


def test_an_authorization_header_conflicts_with_auth_token() -> None:
    error = _invalid(
        name="x", provider="generic", auth_token="t", custom_headers={"Authorization": "Basic x"}
    )
    assert error.field == "custom_headers.Authorization"


def test_a_header_value_cannot_inject_another_header() -> None:
    error = _invalid(name="x", provider="generic", custom_headers={"X-Team": "a\r\nX-Evil: 1"})
    assert error.field == "custom_headers.X-Team"
    assert "X-Evil" not in error.message


def test_a_header_value_cannot_pose_as_ciphertext() -> None:
    error = _invalid(name="x", provider="generic", custom_headers={"X-Team": "enc:v1:abc"})
    assert error.field == "custom_headers.X-Team"


def test_a_mask_is_not_accepted_as_a_new_secret() -> None:
    error = _invalid(name="x", provider="generic", auth_token="••••oken")
    assert error.field == "auth_token"


# -- sealing and showing ---------------------------------------------------------------------------------------


def test_sealing_encrypts_every_secret_and_only_secrets() -> None:
    fields, _ = rules.sealed(
        _create(
            **rules.SEED_002_EXAMPLE,
            verification={"public_key": EXAMPLE_PUBLIC_KEY, "bearer_token": "your_webhook_secret"},
            reply={"api_url": "https://acme.freshchat.com/v2", "api_token": "fc-token-123456"},
        ),
        BOX,
    )

    assert fields["auth_token"].startswith("enc:v1:")
    assert fields["custom_headers"]["X-API-Key"].startswith("enc:v1:")
    assert fields["custom_headers"]["X-Platform"] == "freshchat"
    assert fields["verification"]["bearer_token"].startswith("enc:v1:")
    assert fields["verification"]["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert fields["reply"]["api_token"].startswith("enc:v1:")
    assert fields["reply"]["api_url"] == "https://acme.freshchat.com/v2"
    assert BOX.decrypt(fields["auth_token"]) == "your_bearer_token"


def test_tokens_that_identify_an_integration_get_a_digest() -> None:
    _, digests = rules.sealed(
        _create(
            name="x", provider="chatwoot", verification={"path_token": "p" * 24, "webhook_secret": "s" * 16}
        ),
        BOX,
    )
    assert digests == {"path_token_sha256": token_digest("p" * 24)}


def test_the_public_view_masks_every_secret() -> None:
    document = _stored(
        _create(
            **rules.SEED_002_EXAMPLE,
            verification={"bearer_token": "your_webhook_secret"},
            reply={"api_url": "https://acme.freshchat.com/v2", "api_token": "fc-token-123456"},
        )
    )

    shown = rules.public(document, BOX).model_dump(mode="json")

    assert shown["auth_token"] == "••••oken"
    assert shown["custom_headers"] == {"X-API-Key": "••••", "X-Platform": "freshchat"}
    assert shown["verification"] == {"bearer_token": "••••cret"}
    assert shown["reply"] == {"api_url": "https://acme.freshchat.com/v2", "api_token": "••••3456"}
    for secret in ("your_bearer_token", "your_api_key", "your_webhook_secret", "fc-token-123456"):
        assert secret not in str(shown)


def test_the_public_view_shows_a_public_key_with_its_fingerprint() -> None:
    document = _stored(
        _create(name="x", provider="freshchat", verification={"public_key": EXAMPLE_PUBLIC_KEY})
    )

    verification = rules.public(document, BOX).verification

    assert verification["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert verification["public_key_fingerprint"].startswith("sha256:")


# -- updates ---------------------------------------------------------------------------------------------------


def _seed_document() -> dict[str, Any]:
    return _stored(
        _create(
            **rules.SEED_002_EXAMPLE,
            reply={"api_url": "https://acme.freshchat.com/v2", "api_token": "fc-token-123456"},
        )
    )


def test_sending_back_what_get_showed_keeps_every_secret() -> None:
    document = _seed_document()
    shown = rules.public(document, BOX).model_dump(
        mode="json", exclude={"id", "created_by", "created_at", "updated_at"}
    )

    config = rules.updated(document, shown, BOX)

    assert config.auth_token is not None
    assert config.auth_token.get_secret_value() == "your_bearer_token"
    assert config.custom_headers["X-API-Key"] == "your_api_key"
    reply: Any = config.reply  # the built ReplyCredentials model
    assert reply is not None
    assert reply.api_token is not None
    assert reply.api_token.get_secret_value() == "fc-token-123456"


def test_an_update_merges_nested_objects_key_by_key() -> None:
    config = rules.updated(_seed_document(), {"reply": {"api_token": "rotated-token"}}, BOX)

    reply: Any = config.reply  # the built ReplyCredentials model
    assert reply is not None
    assert reply.api_url == "https://acme.freshchat.com/v2"
    assert reply.api_token is not None
    assert reply.api_token.get_secret_value() == "rotated-token"


def test_null_removes_an_optional_value() -> None:
    config = rules.updated(
        _seed_document(), {"auth_token": None, "custom_headers": {"X-Platform": None}}, BOX
    )
    assert config.auth_token is None
    assert set(config.custom_headers) == {"X-API-Key"}


def test_header_names_in_an_update_match_case_insensitively() -> None:
    config = rules.updated(_seed_document(), {"custom_headers": {"x-api-key": "new-key"}}, BOX)
    assert config.custom_headers == {"X-API-Key": "new-key", "X-Platform": "freshchat"}


def test_an_update_is_validated_like_a_create() -> None:
    with pytest.raises(InvalidConfig) as raised:
        rules.updated(_seed_document(), {"reply": {"api_url": None}}, BOX)
    assert raised.value.field == "reply.api_url"


def test_the_provider_cannot_change() -> None:
    with pytest.raises(InvalidConfig) as raised:
        rules.updated(_seed_document(), {"provider": "zendesk"}, BOX)
    assert raised.value.field == "provider"


def test_a_mask_standing_for_no_stored_secret_is_refused() -> None:
    with pytest.raises(InvalidConfig) as raised:
        rules.updated(_seed_document(), {"verification": {"bearer_token": "••••abcd"}}, BOX)
    assert raised.value.field == "verification.bearer_token"


def test_endpoint_urls_name_every_url_the_dispatcher_calls() -> None:
    config = _create(
        name="x",
        provider="chatwoot",
        outgoing_webhook_url="https://bridge.acme.com/in",
        reply={"base_url": "https://chat.acme.com", "account_id": 1, "api_access_token": "t", "inbox_id": 2},
    )
    assert rules.endpoint_urls(config) == {
        "outgoing_webhook_url": "https://bridge.acme.com/in",
        "reply.base_url": "https://chat.acme.com",
    }
    assert rules.stored_endpoint_urls(_stored(config), BOX) == rules.endpoint_urls(config)


def test_a_partner_registered_later_gets_its_fields_in_the_models_and_the_rules() -> None:
    toy = Partner(
        name="toychat",
        title="Toychat",
        verification=(CredentialField("toy_secret", "the toy's secret.", secret=True),),
        reply=(CredentialField("api_url", "the toy's API", required=True, url=True, max_length=2048),),
    )
    partners.register(toy)
    try:
        models = rules.integration_models()
        assert "toychat" in [member.value for member in models.provider]
        described = models.verification.model_json_schema()["properties"]["toy_secret"]["description"]
        assert described == "toychat: the toy's secret. Write-only."
        shared = models.reply.model_json_schema()["properties"]["api_url"]["description"]
        assert shared.endswith("toychat: the toy's API")
        config = models.create.model_validate(
            {"name": "x", "provider": "toychat", "verification": {"public_key": EXAMPLE_PUBLIC_KEY}}
        )
        with pytest.raises(InvalidConfig, match="which use toy_secret, bearer_token"):
            rules.check(config)
        sealed, _ = rules.sealed(
            _create(name="x", provider="toychat", verification={"toy_secret": "s3"}), BOX
        )
        assert sealed["verification"]["toy_secret"].startswith("enc:")
    finally:
        partners.unregister("toychat")
    assert "toychat" not in [member.value for member in rules.integration_models().provider]
