"""The partner registry: what it accepts, what it refuses, and that production never loads a partner by name."""

from __future__ import annotations

import dataclasses
import sys
import types
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from switchboard_contracts import partners
from switchboard_contracts.events import Author, MessageReceived
from switchboard_contracts.partners.base import CredentialField, Partner
from switchboard_platform.secrets_box import SecretsBox
from switchboard_platform.settings import ServiceSettings

TOY = Partner(
    name="toychat",
    title="Toychat",
    verification=(CredentialField("toy_secret", "the toy's secret.", secret=True),),
    reply=(CredentialField("api_url", "the toy's API", required=True, url=True, max_length=2048),),
)


@pytest.fixture
def toy() -> Iterator[Partner]:
    yield partners.register(TOY)
    partners.unregister(TOY.name)


def test_the_built_in_partners_are_registered_in_the_order_the_apis_list_them() -> None:
    names = [partner.name for partner in partners.registered()]
    assert names[: len(partners.BUILTIN)] == list(partners.BUILTIN)


@pytest.mark.usefixtures("toy")
def test_a_registered_partner_is_one_of_every_list_the_services_read() -> None:
    assert partners.get("toychat") is TOY
    assert "toy_secret" in partners.secret_fields("verification")
    assert list(partners.fields("verification"))[-1] == "bearer_token"
    assert TOY.field_names("verification") == ("toy_secret", "bearer_token")


@pytest.mark.usefixtures("toy")
def test_registering_the_same_partner_again_is_a_no_op_and_another_with_its_name_is_refused() -> None:
    assert partners.register(TOY) is TOY
    with pytest.raises(partners.PartnerError, match="already registered"):
        partners.register(dataclasses.replace(TOY, title="Other"))


def test_a_field_declared_unlike_another_partners_is_refused() -> None:
    # Freshchat's api_url is a plain URL; one API model cannot also make it a secret.
    clash = dataclasses.replace(
        TOY, reply=(CredentialField("api_url", "a secret URL", secret=True, required=True, url=True),)
    )
    with pytest.raises(partners.PartnerError, match=r"reply\.api_url is declared unlike"):
        partners.register(clash)
    assert partners.get("toychat") is None


@pytest.mark.parametrize("name", ["Toy", "1toy", "t", "toy-chat", "toy/chat"])
def test_a_name_that_cannot_be_a_url_segment_and_enum_value_is_refused(name: str) -> None:
    with pytest.raises(partners.PartnerError, match="must match"):
        partners.register(dataclasses.replace(TOY, name=name))


def test_built_in_partners_cannot_be_unregistered() -> None:
    with pytest.raises(partners.PartnerError, match="built in"):
        partners.unregister("zendesk")


def test_loading_a_module_without_a_partner_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "no_partner_here", types.ModuleType("no_partner_here"))
    with pytest.raises(partners.PartnerError, match="defines no PARTNER"):
        partners.load(["no_partner_here"])


def test_loading_a_module_registers_its_partner(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("toy_partner")
    module.PARTNER = TOY  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "toy_partner", module)
    try:
        assert partners.load(["toy_partner"]) == [TOY]
        assert partners.get("toychat") is TOY
    finally:
        partners.unregister("toychat")


def _message(provider: str) -> MessageReceived:
    return MessageReceived(
        tenant_id="acme",
        integration_id="i-1",
        provider=provider,
        conversation_id="c-1",
        message_id="m-1",
        author=Author(id="u-1", type="user"),
        text="hi",
        sent_at=datetime.now(UTC),
    )


def test_a_message_names_a_registered_partner_or_a_non_partner_source(toy: Partner) -> None:
    assert _message(toy.name).provider == "toychat"
    assert _message("widget").provider == "widget"
    with pytest.raises(ValidationError, match="unknown provider"):
        _message("nochat")


def test_the_provider_schema_lists_the_partners_registered_when_it_is_generated(toy: Partner) -> None:
    schema = MessageReceived.model_json_schema()
    assert schema["properties"]["provider"]["enum"][-3:] == ["toychat", "widget", "api"]


def test_production_refuses_to_load_partners_named_by_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SB_ENVIRONMENT", "production")
    monkeypatch.setenv("SB_SECRETS_KEY", SecretsBox.generate_key())
    assert ServiceSettings().extra_partners == ()
    monkeypatch.setenv("SB_EXTRA_PARTNERS", '["tests.e2e.fake_partner"]')
    with pytest.raises(ValueError, match="SB_EXTRA_PARTNERS is refused in production"):
        ServiceSettings()


def test_development_loads_partners_named_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("toy_partner")
    module.PARTNER = TOY  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "toy_partner", module)
    monkeypatch.setenv("SB_ENVIRONMENT", "development")
    monkeypatch.setenv("SB_EXTRA_PARTNERS", '["toy_partner"]')
    try:
        assert TOY in ServiceSettings().partners()
    finally:
        partners.unregister("toychat")
