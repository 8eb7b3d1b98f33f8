"""The console's pure parts: sealed sessions and CSRF tokens, its key, forms to API bodies, charts, inbound URLs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from switchboard_contracts import partners
from switchboard_contracts.partners.base import CredentialField, Inbound, InboundRequest, Partner
from switchboard_contracts.partners.inbound import Dropped, Origin, Outcome
from switchboard_contracts.signing import SignatureError
from switchboard_platform.settings import Environment
from switchboard_registry.console.charts import Point, line_chart
from switchboard_registry.console.session import Session, SessionCodec, derived_key
from switchboard_registry.console.views import (
    PartnerForm,
    attempt_view,
    inbound_urls,
    integration_values,
    partner_form,
    webhook_values,
    without_secrets,
)
from switchboard_registry.console.web import Form
from switchboard_registry.domain import integrations as rules
from switchboard_registry.domain.webhooks import WebhookCreate
from switchboard_registry.settings import RegistrySettings
from switchboard_registry.wiring.console import session_key

KEY = "sbk_the-tenants-api-key"


def form(body: str) -> Form:
    return Form(parse_qsl(body, keep_blank_values=True))


def test_a_sealed_session_opens_with_its_key_and_holds_no_credential() -> None:
    codec = SessionCodec(SessionCodec.generate_key(), ttl_s=60)
    session = Session.anonymous().signed_in_as_tenant("t-1", "key-1")
    cookie = codec.seal(session)
    assert codec.open(cookie) == session
    assert "key-1" not in cookie  # encrypted, not merely signed
    assert KEY not in repr(session)


@pytest.mark.parametrize(
    "cookie", [None, "", "garbage", Fernet(Fernet.generate_key()).encrypt(b"{}").decode()]
)
def test_a_missing_forged_or_foreign_cookie_opens_to_nothing(cookie: str | None) -> None:
    assert SessionCodec(SessionCodec.generate_key(), ttl_s=60).open(cookie) is None


def test_signing_in_issues_a_new_csrf_token_and_only_it_matches() -> None:
    anonymous = Session.anonymous()
    signed_in = anonymous.signed_in_as_operator("t-1", "the-admin-token")
    assert signed_in.csrf != anonymous.csrf
    assert signed_in.csrf_matches(signed_in.csrf)
    assert not signed_in.csrf_matches(anonymous.csrf)
    assert not signed_in.csrf_matches(None)
    assert "the-admin-token" not in repr(signed_in)


def test_production_derives_the_session_key_from_the_secrets_key() -> None:
    secrets_key = Fernet.generate_key().decode()
    settings = RegistrySettings(
        environment=Environment.PRODUCTION,
        admin_token=SecretStr("a-real-admin-token"),
        secrets_key=SecretStr(secrets_key),
    )
    key = session_key(settings)
    assert key == session_key(settings)  # every replica derives the same
    assert key not in (secrets_key, derived_key(secrets_key, purpose="another purpose"))
    Fernet(key.encode())  # a usable key


def test_a_configured_session_key_wins() -> None:
    configured = Fernet.generate_key().decode()
    settings = RegistrySettings(environment=Environment.TEST, console_session_key=SecretStr(configured))
    assert session_key(settings) == configured


def test_the_webhook_form_becomes_the_apis_body() -> None:
    values = webhook_values(
        form(
            "name=Orders&url=https%3A%2F%2Fexample.com%2Fh&events=message.created&events=conversation.*"
            "&extra_events=ticket.*%2C+message.created&active=true&timeout_seconds=10&retry_schedule=4%2C+8"
            "&max_in_flight=&rate_limit_per_minute=60&ordered=true"
        )
    )
    body = WebhookCreate.model_validate(values)
    assert body.events == ["message.created", "conversation.*", "ticket.*"]
    assert (body.delivery.timeout_seconds, body.delivery.retry_schedule) == (10, [4, 8])
    assert (body.delivery.max_in_flight, body.delivery.rate_limit_per_minute, body.delivery.ordered) == (
        10,
        60,
        True,
    )
    assert body.active is True


def test_an_unticked_active_box_is_inactive_and_empty_retries_mean_none() -> None:
    values = webhook_values(form("name=x&url=https%3A%2F%2Fexample.com&events=*&retry_schedule="))
    body = WebhookCreate.model_validate(values)
    assert (body.active, body.delivery.retry_schedule) == (False, [])


def _form(name: str) -> PartnerForm:
    partner = partners.get(name)
    assert partner is not None
    return partner_form(partner)


def test_an_empty_secret_input_keeps_the_stored_secret_on_update() -> None:
    sent = form("name=Zendesk&verification.signing_secret=&reply.subdomain=acme&is_active=true")
    values = integration_values(sent, _form("zendesk"), patch=True)
    assert values == {"name": "Zendesk", "is_active": True, "reply": {"subdomain": "acme"}}


def _refuse(verification: Mapping[str, Any], request: InboundRequest, *, tolerance_s: int) -> None:
    raise SignatureError("the toy's webhooks are not received in these tests")


def _drop(payload: Mapping[str, Any], origin: Origin, request: InboundRequest) -> Outcome:
    return Dropped("unsupported_event")


TOY = Partner(
    name="toyconsole",
    title="Toy console",
    verification=(CredentialField("toy_key", "the key webhooks are signed with.", secret=True),),
    reply=(
        CredentialField("api_url", "the toy's API", required=True, url=True, max_length=2048),
        CredentialField("toy_seat", "the seat replies come from", kind=int, min_length=None, ge=1),
    ),
    inbound=Inbound(verify=_refuse, normalize=_drop),
)


@pytest.fixture
def toy() -> Iterator[Partner]:
    yield partners.register(TOY)
    partners.unregister(TOY.name)


@pytest.mark.usefixtures("toy")
def test_a_registered_partners_form_comes_from_its_declaration() -> None:
    toy = _form("toyconsole")
    assert toy.title == "Toy console"
    assert [(item.name, item.label, item.secret) for item in toy.verification] == [
        ("verification.toy_key", "Toy key", True),
        ("verification.bearer_token", "Bearer token", True),
    ]
    assert [(item.name, item.label, item.required, item.type, item.min) for item in toy.reply] == [
        ("reply.api_url", "Api url", True, "url", None),
        ("reply.toy_seat", "Toy seat (optional)", False, "number", 1),
    ]
    assert toy.verification[0].hint == "The key webhooks are signed with."
    sent = form(
        "provider=ignored&name=Toy&verification.toy_key=k-123&verification.bearer_token="
        "&reply.api_url=https%3A%2F%2Fapi.example.com&reply.toy_seat=7&is_active=true"
    )
    body = rules.integration_models().create.model_validate(integration_values(sent, toy))
    rules.check(body)
    assert (str(body.provider), body.reply.model_dump(exclude_none=True)) == (  # type: ignore[union-attr]
        "toyconsole",
        {"api_url": "https://api.example.com", "toy_seat": 7},
    )
    shown_again = without_secrets(integration_values(sent, toy), toy)
    assert shown_again["verification"] == {}
    assert shown_again["reply"]["api_url"] == "https://api.example.com"


def test_a_long_public_value_is_a_text_area_and_slack_has_no_outgoing_webhook() -> None:
    freshchat = _form("freshchat")
    assert [item.key for item in freshchat.verification if item.multiline] == ["public_key"]
    assert freshchat.outgoing_webhook
    slack = _form("slack")
    assert not slack.outgoing_webhook
    assert [(item.key, item.secret, item.required) for item in slack.reply] == [
        ("webhook_url", True, True),
        ("channel", False, False),
    ]
    assert integration_values(form("name=S&outgoing_webhook_url=https%3A%2F%2Fx.example"), slack) == {
        "provider": "slack",
        "name": "S",
        "is_active": False,
    }


def _public(provider: str, verification: dict[str, str]) -> rules.IntegrationPublic:
    now = datetime.now(UTC)
    return rules.integration_models().public(
        id="i-1",
        name="n",
        provider=provider,
        outgoing_webhook_url=None,
        auth_token=None,
        custom_headers={},
        timeout_seconds=30,
        retry_attempts=3,
        is_active=True,
        events=[],
        verification=verification,
        reply=None,
        created_by="k",
        created_at=now,
        updated_at=now,
    )


def _inbound(provider: str, verification: dict[str, str]) -> list[tuple[str, str]]:
    partner = partners.get(provider)
    assert partner is not None
    return inbound_urls("https://in.example/", _public(provider, verification), partner)


def test_inbound_urls_follow_the_provider() -> None:
    assert _inbound("zendesk", {}) == [("Webhook URL", "https://in.example/webhooks/zendesk/i-1")]
    assert _inbound("chatwoot", {"path_token": "••••abcd"})[1] == (
        "Webhook URL with path token",
        "https://in.example/webhooks/chatwoot/i-1/<your path token>",
    )
    generic = dict(_inbound("generic", {"bearer_token": "••••abcd"}))
    assert generic["Chat widget"] == "https://in.example/chat?integration=i-1"
    assert generic["Incoming messages (Authorization: Bearer)"] == "https://in.example/api/webhook/incoming"
    assert _inbound("slack", {}) == []


@pytest.mark.usefixtures("toy")
def test_a_registered_partner_with_a_native_webhook_gets_its_ingress_url() -> None:
    assert _inbound("toyconsole", {}) == [("Webhook URL", "https://in.example/webhooks/toyconsole/i-1")]


def test_an_attempts_headers_never_show_a_signature() -> None:
    delivery = {"_id": "msg_1", "eventType": "message.created"}
    attempt = {"attempt": 2, "attemptedAt": "2026-12-05T08:00:00+00:00"}
    headers = dict(attempt_view(delivery, attempt)["headers"])
    assert headers["webhook-signature"] == "v1,••••"
    assert headers["X-Webhook-Signature"] == "••••"
    assert headers["webhook-id"] == "msg_1"
    assert headers["X-Switchboard-Attempt"] == "2"


def test_a_chart_breaks_its_line_where_there_was_no_traffic_and_escapes_its_title() -> None:
    start = datetime(2026, 12, 5, tzinfo=UTC)
    points = [
        Point(start + timedelta(hours=index), value) for index, value in enumerate([90, 100, None, 50, 60])
    ]
    svg = str(line_chart(points, title="<b>rate</b>", unit="%", y_max=100))
    assert svg.count("<polyline") == 2
    assert "<b>" not in svg
    assert 'role="img"' in svg
    assert "no traffic" in str(line_chart([Point(start, None)], title="t", unit="ms"))
