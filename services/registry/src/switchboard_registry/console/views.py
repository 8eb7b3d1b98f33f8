"""What the console's pages show, as plain functions: forms to API bodies, stats to health and charts, an
attempt to its request headers (secrets masked), a partner's declaration to its integration form, an
integration to the URLs its partner calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from markupsafe import Markup

from switchboard_contracts import signing
from switchboard_contracts.events import EndpointKind
from switchboard_contracts.partners.base import CredentialField, Partner
from switchboard_registry.adapters.deliveries import DeliveryLog
from switchboard_registry.console.charts import Point, line_chart
from switchboard_registry.console.web import Form, Viewer
from switchboard_registry.domain import delivery_stats as stats
from switchboard_registry.domain import integrations as rules

#: The charts' window and resolution: a day in hourly slices, each read from the hourly rollups.
SERIES_WINDOW = timedelta(hours=24)
SERIES_STEP = timedelta(hours=1)
MASKED = "••••"
Section = Literal["verification", "reply"]
SECTIONS: tuple[Section, ...] = ("verification", "reply")


def parse_utc(text: str | None) -> datetime | None:
    """A ``datetime-local`` input (no offset: read as UTC) or an RFC 3339 time; None when empty or unreadable."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def reviewer(seen: Viewer) -> str:
    principal = seen.principal
    return "operator" if principal is None or principal.key_id == "operator" else f"key:{principal.key_id}"


# -- webhooks --------------------------------------------------------------------------------------------------


def webhook_values(sent: Form) -> dict[str, Any]:
    """The form as a ``WebhookCreate``/``WebhookUpdate`` body (pydantic validates it, naming the field)."""
    events = sent.all("events") + [
        name.strip() for name in sent.get("extra_events").split(",") if name.strip()
    ]
    delivery = {
        "timeout_seconds": sent.get("timeout_seconds") or None,
        "retry_schedule": [part.strip() for part in sent.get("retry_schedule").split(",") if part.strip()],
        "max_in_flight": sent.get("max_in_flight") or None,
        "rate_limit_per_minute": sent.get("rate_limit_per_minute") or None,
        "ordered": sent.checked("ordered"),
    }
    return {
        "name": sent.get("name"),
        "url": sent.get("url"),
        "description": sent.get("description") or None,
        "events": list(dict.fromkeys(events)),
        "active": sent.checked("active"),
        "delivery": {name: value for name, value in delivery.items() if value is not None},
    }


@dataclass(frozen=True)
class Health:
    success_rate: float | None
    p95_ms: float | None
    completed: int
    failed: int
    retries_scheduled: int
    exhausted: int

    @property
    def state(self) -> str:
        if self.success_rate is None:
            return "idle"
        return (
            "healthy" if self.success_rate >= 0.95 else "degraded" if self.success_rate >= 0.5 else "failing"
        )


def _health(summary: Mapping[str, Any]) -> Health:
    return Health(
        success_rate=summary["successRate"],
        p95_ms=summary["responseTime"]["p95Ms"],
        completed=summary["deliveries"]["completed"],
        failed=summary["deliveries"]["failed"],
        retries_scheduled=summary["retries"]["scheduled"],
        exhausted=summary["retries"]["exhausted"],
    )


@dataclass(frozen=True)
class Slice:
    start: datetime
    success_rate: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class Activity:
    """An endpoint's last day by the hour (the current hour included), from the stats rollups' hour buckets:
    its health over the whole window and one slice per hour for the charts."""

    health: Health
    slices: list[Slice]


async def activity(
    log: DeliveryLog, tenant_id: str, kind: EndpointKind, endpoint_id: str, now: datetime
) -> Activity:
    """One rollups read per endpoint (``DeliveryLog.hourly``); the metrics are ``/stats``' (``summarize``)."""
    end = stats.floor_to(now, SERIES_STEP) + SERIES_STEP
    since = end - SERIES_WINDOW
    buckets = await log.hourly(tenant_id, kind, endpoint_id, since, end)
    total: dict[str, Any] = {}
    for bucket in buckets.values():
        stats.merge(total, bucket)
    slices = []
    for index in range(int(SERIES_WINDOW / SERIES_STEP)):
        start = since + SERIES_STEP * index
        summary = stats.summarize(buckets.get(start, {}))
        slices.append(Slice(start, summary["successRate"], summary["responseTime"]["p95Ms"]))
    return Activity(_health(stats.summarize(total)), slices)


def charts(slices: list[Slice]) -> dict[str, Markup]:
    return {
        "success": line_chart(
            [
                Point(item.start, None if item.success_rate is None else item.success_rate * 100)
                for item in slices
            ],
            title="Success rate per hour",
            unit="%",
            y_max=100,
        ),
        "latency": line_chart(
            [Point(item.start, item.p95_ms) for item in slices], title="p95 latency per hour", unit="ms"
        ),
    }


def attempt_view(delivery: Mapping[str, Any], attempt: Mapping[str, Any]) -> dict[str, Any]:
    """An attempt with the request headers the dispatcher sent for it. The log records no headers (and never a
    signature), so they are rebuilt from the delivery: every signature shows only its scheme, masked."""
    headers = [
        ("Content-Type", "application/json"),
        (signing.STANDARD_ID_HEADER, delivery["_id"]),
        (
            signing.STANDARD_TIMESTAMP_HEADER,
            str(int(datetime.fromisoformat(attempt["attemptedAt"]).timestamp())),
        ),
        (signing.STANDARD_SIGNATURE_HEADER, "v1," + MASKED),
        (signing.WEBHOOK_SIGNATURE_HEADER, MASKED),
        (signing.CHATBOTS_SIGNATURE_HEADER, "sha256=" + MASKED),
        (signing.CHATBOTS_EVENT_HEADER, delivery["eventType"]),
        (signing.CHATBOTS_DELIVERY_HEADER, delivery["_id"]),
        (signing.WEBHOOK_EVENT_HEADER, delivery["eventType"]),
        ("X-Switchboard-Attempt", str(attempt["attempt"])),
    ]
    return {**attempt, "headers": headers}


# -- integrations ----------------------------------------------------------------------------------------------

#: A text value this long (a PEM public key) is typed into a text area.
MULTILINE_OVER = 4096


@dataclass(frozen=True)
class CredentialInput:
    """One ``verification`` / ``reply`` field of a partner as its form shows it."""

    section: Section
    key: str
    label: str
    hint: str
    #: Write-only: never rendered back, an empty input keeps the stored value.
    secret: bool
    required: bool
    type: str
    multiline: bool
    min: int | None

    @property
    def name(self) -> str:
        """The input's name: the field's path in the API body (``reply.api_token``), as errors name it."""
        return f"{self.section}.{self.key}"


@dataclass(frozen=True)
class PartnerForm:
    """An integration form for one partner, all of it read from its ``Partner`` declaration."""

    provider: str
    title: str
    outgoing_webhook: bool
    verification: tuple[CredentialInput, ...]
    reply: tuple[CredentialInput, ...]

    def inputs(self, section: Section) -> tuple[CredentialInput, ...]:
        return self.verification if section == "verification" else self.reply


def _input(section: Section, spec: CredentialField) -> CredentialInput:
    optional = section == "reply" and not spec.required
    return CredentialInput(
        section=section,
        key=spec.name,
        label=spec.name.replace("_", " ").capitalize() + (" (optional)" if optional else ""),
        hint=spec.description[:1].upper() + spec.description[1:],
        secret=spec.secret,
        required=spec.required,
        type="number" if spec.kind is int else "url" if spec.url else "text",
        multiline=spec.kind is str and not spec.secret and (spec.max_length or 0) > MULTILINE_OVER,
        min=spec.ge,
    )


def partner_form(partner: Partner) -> PartnerForm:
    return PartnerForm(
        provider=partner.name,
        title=partner.title[:1].upper() + partner.title[1:],
        outgoing_webhook=partner.outgoing_webhook,
        verification=tuple(_input("verification", spec) for spec in partner.fields("verification")),
        reply=tuple(_input("reply", spec) for spec in partner.fields("reply")),
    )


def field_hints() -> dict[str, str]:
    """The API's descriptions of seed 002's fields (``outgoing_webhook_url``, ``auth_token``…)."""
    return {
        name: info.description
        for name, info in rules.IntegrationCreate.model_fields.items()
        if info.description
    }


def integration_values(sent: Form, form: PartnerForm, *, patch: bool = False) -> dict[str, Any]:
    """The form as an ``IntegrationCreate`` (or, ``patch``, an ``IntegrationUpdate``) body. Empty inputs are
    left out: on create they take the default, on update they keep the stored value (secrets are write-only)."""
    values: dict[str, Any] = {} if patch else {"provider": form.provider}
    own = ("name", "timeout_seconds", "retry_attempts")
    for name in (*own, "outgoing_webhook_url", "auth_token") if form.outgoing_webhook else own:
        if sent.get(name):
            values[name] = sent.get(name)
    values["is_active"] = sent.checked("is_active")
    for section in SECTIONS:
        given = {item.key: sent.get(item.name) for item in form.inputs(section) if sent.get(item.name)}
        if given:
            values[section] = given
    return values


def without_secrets(values: Mapping[str, Any], form: PartnerForm) -> dict[str, Any]:
    """A refused form shown again: what was typed, less the secrets (never rendered back)."""
    kept = {name: value for name, value in values.items() if name not in ("auth_token", *SECTIONS)}
    for section in SECTIONS:
        if section in values:
            secrets = {item.key for item in form.inputs(section) if item.secret}
            kept[section] = {key: item for key, item in values[section].items() if key not in secrets}
    return kept


def integration_form_values(found: rules.IntegrationPublic) -> dict[str, Any]:
    """A stored integration as the edit form shows it: secrets only as "set" (masked), never their value."""
    return {
        "name": found.name,
        "outgoing_webhook_url": found.outgoing_webhook_url,
        "timeout_seconds": found.timeout_seconds,
        "retry_attempts": found.retry_attempts,
        "is_active": found.is_active,
        "auth_token": found.auth_token,
        "verification": dict(found.verification),
        "reply": dict(found.reply or {}),
    }


def inbound_urls(ingress_url: str, found: rules.IntegrationPublic, partner: Partner) -> list[tuple[str, str]]:
    """Where the partner sends its webhooks (to paste into its settings): its native webhook route at ingress
    when it has one, else the generic bridges' endpoints (seeds 003 and 004) when it takes inbound traffic at all,
    and seed 002's bearer endpoint when the integration has a token."""
    base = ingress_url.rstrip("/")
    urls: list[tuple[str, str]] = []
    if partner.inbound is not None:
        webhook = f"{base}/webhooks/{partner.name}/{found.id}"
        urls.append(("Webhook URL", webhook))
        if partner.inbound.path_token and "path_token" in found.verification:
            urls.append(("Webhook URL with path token", f"{webhook}/<your path token>"))
    elif partner.bearer:
        urls.append(("Tickets (seed 003)", f"{base}/api/webhooks/receive?integration={found.id}"))
        urls.append(("Chat widget", f"{base}/chat?integration={found.id}"))
        urls.append(
            (
                "Widget agent messages (poll)",
                f"{base}/chat/messages?integration={found.id}&session_id=<session>",
            )
        )
    if "bearer_token" in found.verification:
        urls.append(("Incoming messages (Authorization: Bearer)", f"{base}/api/webhook/incoming"))
    return urls
