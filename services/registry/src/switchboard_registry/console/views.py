"""What the console's pages show, as plain functions: forms to API bodies, stats to health and charts, an
attempt to its request headers (secrets masked), an integration to the URLs its partner calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup

from switchboard_registry.adapters.deliveries import DeliveryLog
from switchboard_registry.console.charts import Point, line_chart
from switchboard_registry.console.web import Form, Viewer
from switchboard_registry.domain import delivery_stats as stats
from switchboard_registry.domain import integrations as rules
from switchboard_shared import signing
from switchboard_shared.events import EndpointKind

#: The charts' window and resolution: a day in hourly slices, each read from the hourly rollups.
SERIES_WINDOW = timedelta(hours=24)
SERIES_STEP = timedelta(hours=1)
#: Integration fields that are write-only: never rendered back, an empty input keeps the stored value.
SECRET_FIELDS = frozenset(
    {
        "auth_token",
        *rules.REPLY_SECRETS,
        "signing_secret",
        "client_secret",
        "webhook_secret",
        "path_token",
        "bearer_token",
    }
)
MASKED = "••••"


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


def field_hints() -> dict[str, str]:
    hints: dict[str, str] = {}
    for model in (rules.Verification, rules.ReplyCredentials, rules.IntegrationCreate):
        for name, info in model.model_fields.items():
            if info.description:
                hints.setdefault(name, info.description)
    return hints


def integration_values(sent: Form, provider: rules.Provider, *, patch: bool = False) -> dict[str, Any]:
    """The form as an ``IntegrationCreate`` (or, ``patch``, an ``IntegrationUpdate``) body. Empty inputs are
    left out: on create they take the default, on update they keep the stored value (secrets are write-only)."""
    required, optional = rules.REPLY_FIELDS[provider]
    values: dict[str, Any] = {"provider": provider.value}
    for name in ("name", "outgoing_webhook_url", "auth_token", "timeout_seconds", "retry_attempts"):
        if sent.get(name):
            values[name] = sent.get(name)
    values["is_active"] = sent.checked("is_active")
    verification = {
        name: sent.get(f"verification.{name}")
        for name in rules.VERIFICATION_FIELDS[provider]
        if sent.get(f"verification.{name}")
    }
    reply = {name: sent.get(f"reply.{name}") for name in required + optional if sent.get(f"reply.{name}")}
    if verification:
        values["verification"] = verification
    if reply:
        values["reply"] = reply
    if patch:
        values.pop("provider")
    return values


def without_secrets(values: Mapping[str, Any]) -> dict[str, Any]:
    """A refused form shown again: what was typed, less the secrets (never rendered back)."""
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, Mapping):
            kept[name] = {key: item for key, item in value.items() if key not in SECRET_FIELDS}
        elif name not in SECRET_FIELDS:
            kept[name] = value
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


def inbound_urls(ingress_url: str, found: rules.IntegrationPublic) -> list[tuple[str, str]]:
    """Where the partner sends its webhooks (to paste into its settings), by what the integration verifies."""
    base = ingress_url.rstrip("/")
    urls: list[tuple[str, str]] = []
    if found.provider in (
        rules.Provider.FRESHCHAT,
        rules.Provider.ZENDESK,
        rules.Provider.INTERCOM,
        rules.Provider.CHATWOOT,
    ):
        urls.append(("Webhook URL", f"{base}/webhooks/{found.provider.value}/{found.id}"))
    if found.provider is rules.Provider.CHATWOOT and "path_token" in found.verification:
        urls.append(("Webhook URL with path token", f"{base}/webhooks/chatwoot/{found.id}/<your path token>"))
    if found.provider is rules.Provider.GENERIC:
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
