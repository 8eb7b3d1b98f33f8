"""The console's pages at ``/admin``: sign-in, overview, webhooks, delivery log, integrations, live chats and
review. Each route parses a form or query, calls the function the matching ``/api`` route calls, and renders."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from switchboard_contracts import partners
from switchboard_contracts.events import EVENT_CATALOG
from switchboard_contracts.partners.base import Partner
from switchboard_contracts.signing import constant_time_equal
from switchboard_platform.http import ApiError
from switchboard_platform.secrets_box import mask
from switchboard_registry.adapters.tenants import Principal
from switchboard_registry.api import deliveries as deliveries_api
from switchboard_registry.api import integrations as integrations_api
from switchboard_registry.api import webhooks as webhooks_api
from switchboard_registry.console import views
from switchboard_registry.console.session import Session
from switchboard_registry.console.web import (
    PREFIX,
    ConsoleRoute,
    Viewer,
    api_error_field,
    console,
    field_errors,
    form,
    redirect,
    render,
    services,
    set_session,
    viewer,
)
from switchboard_registry.domain import integrations as integration_rules
from switchboard_registry.domain import webhooks as webhook_rules
from switchboard_registry.domain.keys import KEY_PREFIX, Scope

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=ConsoleRoute)

_STATIC = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "htmx.min.js": "text/javascript; charset=utf-8",
}
StatusFilter = Annotated[str | None, Query(max_length=20)]
Text = Annotated[str | None, Query(max_length=200)]


def _state(request: Request, name: str) -> Any:
    return getattr(request.app.state, name)


# -- assets, sign-in, sign-out ---------------------------------------------------------------------------------


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in _STATIC:
        raise ApiError(404, "not_found", "no such asset")
    folder = resources.files("switchboard_registry.console") / "static"
    path = folder / ("vendor/" + name if name == "htmx.min.js" else name)
    if not path.is_file():
        raise ApiError(
            404, "not_found", f"{name} is missing: run make sync (it fetches the console's assets)"
        )
    return Response(
        path.read_bytes(), media_type=_STATIC[name], headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get("")
async def home(request: Request) -> Response:
    seen = await viewer(request, required=False)
    return redirect(f"{PREFIX}/overview" if seen.principal else f"{PREFIX}/sign-in")


@router.get("/sign-in")
async def sign_in_page(request: Request, next: Text = None) -> HTMLResponse:
    seen = await viewer(request, required=False)
    return render(seen, "sign_in.html", next=next, errors={})


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    seen = await viewer(request, required=False)
    sent = await form(request, seen)
    credential = sent.get("credential")
    tenant_id = sent.get("tenant_id")
    registry = services(request)
    session: Session | None = None
    if credential.startswith(KEY_PREFIX):
        principal = await registry.tenants.authenticate(credential)
        if principal is not None:
            session = seen.session.signed_in_as_tenant(principal.tenant_id, principal.key_id)
    elif credential and constant_time_equal(credential, registry.settings.admin_token.get_secret_value()):
        if not tenant_id:
            return render(
                seen,
                "sign_in.html",
                422,
                errors={"tenant_id": "the operator signs in to one tenant: name it"},
            )
        if await registry.tenants.get_tenant(tenant_id) is None:
            return render(seen, "sign_in.html", 422, errors={"tenant_id": "no such tenant"})
        session = seen.session.signed_in_as_operator(tenant_id, credential)
    if session is None:
        # One message for both: the page does not tell a wrong key from a revoked one.
        return render(seen, "sign_in.html", 401, errors={"credential": "not a valid API key or admin token"})
    target = sent.get("next")
    response = redirect(target if target.startswith(PREFIX + "/") else f"{PREFIX}/overview")
    set_session(response, request, session)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    seen = await viewer(request, required=False)
    await form(request, seen)
    response = redirect(f"{PREFIX}/sign-in", notice="signed_out")
    set_session(response, request, Session.anonymous())
    return response


# -- overview --------------------------------------------------------------------------------------------------


@router.get("/overview")
async def overview(request: Request) -> HTMLResponse:
    seen = await viewer(request)
    principal = seen.need(Scope.WEBHOOKS_READ)
    registry = services(request)
    listed = await webhooks_api.list_webhooks(principal, registry, _state(request, "webhooks"), 1, 100)
    hooks = listed["data"]
    log = _state(request, "deliveries")
    now = datetime.now(UTC)
    integrations = (
        await integrations_api.list_integrations(
            principal, registry, _state(request, "integrations"), None, None, 1, 100
        )
    ).data
    webhook_activity = await asyncio.gather(
        *(views.activity(log, principal.tenant_id, "webhook", hook["_id"], now) for hook in hooks)
    )
    integration_activity = await asyncio.gather(
        *(views.activity(log, principal.tenant_id, "integration", item.id, now) for item in integrations)
    )
    health = [item.health for item in webhook_activity]
    integration_health = [item.health for item in integration_activity]
    return render(
        seen,
        "overview.html",
        webhooks=list(zip(hooks, health, strict=True)),
        integrations=list(zip(integrations, integration_health, strict=True)),
    )


# -- webhooks --------------------------------------------------------------------------------------------------


@router.get("/webhooks")
async def webhooks(request: Request) -> HTMLResponse:
    seen = await viewer(request)
    principal = seen.need(Scope.WEBHOOKS_READ)
    listed = await webhooks_api.list_webhooks(
        principal, services(request), _state(request, "webhooks"), 1, 100
    )
    return render(seen, "webhooks.html", webhooks=listed["data"], total=listed["pagination"]["total"])


def _webhook_form_context(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    groups: dict[str, list[Any]] = {}
    for info in EVENT_CATALOG.values():
        groups.setdefault(info.group, []).append(info)
    return {"values": values, "errors": errors, "groups": groups}


@router.get("/webhooks/new")
async def new_webhook(request: Request) -> HTMLResponse:
    seen = await viewer(request)
    seen.need(Scope.WEBHOOKS_WRITE)
    values = {"active": True, "events": [], "delivery": webhook_rules.DeliverySettings().model_dump()}
    return render(seen, "webhook_form.html", **_webhook_form_context(values, {}), webhook=None)


@router.post("/webhooks/new")
async def create_webhook(request: Request) -> Response:
    seen = await viewer(request)
    principal = seen.need(Scope.WEBHOOKS_WRITE)
    values = views.webhook_values(await form(request, seen))
    try:
        body = webhook_rules.WebhookCreate.model_validate(values)
        created = await webhooks_api.create_webhook(
            body, principal, services(request), _state(request, "webhooks")
        )
    except ValidationError as exc:
        errors = field_errors(exc)
    except ApiError as exc:
        if exc.status_code != 422:
            raise
        errors = api_error_field(exc)
    else:
        return redirect(f"{PREFIX}/webhooks/{created['data']['_id']}", notice="created")
    return render(seen, "webhook_form.html", 422, **_webhook_form_context(values, errors), webhook=None)


async def _webhook(request: Request, seen: Viewer, webhook_id: str) -> dict[str, Any]:
    principal = seen.need(Scope.WEBHOOKS_READ)
    found = await webhooks_api.get_webhook(
        webhook_id, principal, services(request), _state(request, "webhooks")
    )
    data: dict[str, Any] = found["data"]
    return data


async def _webhook_page(
    request: Request, seen: Viewer, webhook_id: str, *, reveal: bool, **extra: Any
) -> HTMLResponse:
    hook = await _webhook(request, seen, webhook_id)
    secret = hook["secret"]
    hook["secret"] = secret if reveal else mask(secret)
    seen_activity = await views.activity(
        _state(request, "deliveries"), seen.tenant_id, "webhook", webhook_id, datetime.now(UTC)
    )
    return render(
        seen,
        "webhook.html",
        webhook=hook,
        revealed=reveal,
        health=seen_activity.health,
        charts=views.charts(seen_activity.slices),
        grace_hours=services(request).settings.secret_rotation_grace_s / 3600,
        event_id=request.query_params.get("event"),
        **extra,
    )


@router.get("/webhooks/{webhook_id}")
async def webhook(request: Request, webhook_id: str) -> HTMLResponse:
    seen = await viewer(request)
    return await _webhook_page(request, seen, webhook_id, reveal=False)


@router.post("/webhooks/{webhook_id}/reveal")
async def reveal_secret(request: Request, webhook_id: str) -> HTMLResponse:
    seen = await viewer(request)
    await form(request, seen)
    seen.need(Scope.WEBHOOKS_WRITE)
    return await _webhook_page(request, seen, webhook_id, reveal=True)


@router.post("/webhooks/{webhook_id}/rotate")
async def rotate_secret(request: Request, webhook_id: str) -> Response:
    seen = await viewer(request)
    await form(request, seen)
    principal = seen.need(Scope.WEBHOOKS_WRITE)
    await webhooks_api.regenerate_secret(
        webhook_id, principal, services(request), _state(request, "webhooks")
    )
    return redirect(f"{PREFIX}/webhooks/{webhook_id}", notice="rotated")


@router.post("/webhooks/{webhook_id}/test")
async def send_test(request: Request, webhook_id: str) -> Response:
    seen = await viewer(request)
    await form(request, seen)
    principal = seen.need(Scope.WEBHOOKS_WRITE)
    queued = await webhooks_api.test_webhook(
        webhook_id, principal, _state(request, "webhooks"), _state(request, "commands")
    )
    return redirect(
        f"{PREFIX}/deliveries", webhook=webhook_id, event_id=queued["data"]["eventId"], notice="test_queued"
    )


@router.get("/webhooks/{webhook_id}/edit")
async def edit_webhook(request: Request, webhook_id: str) -> HTMLResponse:
    seen = await viewer(request)
    seen.need(Scope.WEBHOOKS_WRITE)
    hook = await _webhook(request, seen, webhook_id)
    return render(seen, "webhook_form.html", **_webhook_form_context(hook, {}), webhook=hook)


@router.post("/webhooks/{webhook_id}/edit")
async def update_webhook(request: Request, webhook_id: str) -> Response:
    seen = await viewer(request)
    principal = seen.need(Scope.WEBHOOKS_WRITE)
    values = views.webhook_values(await form(request, seen))
    hook = await _webhook(request, seen, webhook_id)
    try:
        body = webhook_rules.WebhookUpdate.model_validate(values)
        await webhooks_api.put_webhook(
            webhook_id, body, principal, services(request), _state(request, "webhooks")
        )
    except ValidationError as exc:
        errors = field_errors(exc)
    except ApiError as exc:
        if exc.status_code != 422:
            raise
        errors = api_error_field(exc)
    else:
        return redirect(f"{PREFIX}/webhooks/{webhook_id}", notice="saved")
    return render(seen, "webhook_form.html", 422, **_webhook_form_context(values, errors), webhook=hook)


@router.post("/webhooks/{webhook_id}/recover")
async def recover(request: Request, webhook_id: str) -> Response:
    seen = await viewer(request)
    sent = await form(request, seen)
    principal = seen.need(Scope.DELIVERIES_WRITE)
    since = views.parse_utc(sent.get("since"))
    if since is None:
        raise ApiError(422, "validation_error", "since: a date and time (UTC) is required")
    queued = await deliveries_api.recover(
        webhook_id, principal, _state(request, "webhooks"), _state(request, "commands"), since, None, None
    )
    return redirect(
        f"{PREFIX}/deliveries",
        webhook=webhook_id,
        notice="recover_queued",
        command=queued["data"]["commandId"],
    )


# -- delivery log ----------------------------------------------------------------------------------------------


@router.get("/deliveries")
async def deliveries(
    request: Request,
    webhook: Text = None,
    status: StatusFilter = None,
    event_type: Text = None,
    event_id: Text = None,
    since: Text = None,
    until: Text = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    seen = await viewer(request)
    principal = seen.need(Scope.DELIVERIES_READ)
    hooks = (
        await webhooks_api.list_webhooks(principal, services(request), _state(request, "webhooks"), 1, 100)
    )["data"]
    chosen = webhook or (hooks[0]["_id"] if hooks else None)
    filters = {
        "webhook": chosen,
        "status": status or "",
        "event_type": event_type or "",
        "event_id": event_id or "",
        "since": since or "",
        "until": until or "",
    }
    listed: dict[str, Any] = {"data": [], "pagination": {"page": 1, "pages": 0, "total": 0}}
    if chosen is not None:
        if status not in (None, "", "pending", "succeeded", "failed"):
            raise ApiError(422, "validation_error", "status: pending, succeeded or failed")
        listed = await deliveries_api.list_deliveries(
            chosen,
            principal,
            _state(request, "webhooks"),
            _state(request, "deliveries"),
            status or None,  # type: ignore[arg-type]
            event_type or None,
            event_id or None,
            page,
            20,
            since=views.parse_utc(since),
            until=views.parse_utc(until),
        )
    command = request.query_params.get("command")
    progress = None
    if command and chosen is not None:
        # The page polls itself, so a recover's counts move as its attempts reach the log.
        progress = (
            await deliveries_api.recover_progress(
                chosen, command[:200], principal, _state(request, "webhooks"), _state(request, "deliveries")
            )
        )["data"]
    return render(
        seen,
        "deliveries.html",
        webhooks=hooks,
        filters=filters,
        deliveries=listed["data"],
        pagination=listed["pagination"],
        command=command,
        progress=progress,
    )


@router.get("/webhooks/{webhook_id}/deliveries/{delivery_id}")
async def delivery(request: Request, webhook_id: str, delivery_id: str) -> HTMLResponse:
    seen = await viewer(request)
    principal = seen.need(Scope.DELIVERIES_READ)
    found = await deliveries_api.get_delivery(
        webhook_id, delivery_id, principal, _state(request, "webhooks"), _state(request, "deliveries")
    )
    detail = found["data"]
    return render(
        seen,
        "delivery.html",
        delivery=detail,
        attempts=[views.attempt_view(detail, attempt) for attempt in detail["attempts"]],
    )


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(request: Request, webhook_id: str, delivery_id: str) -> Response:
    seen = await viewer(request)
    await form(request, seen)
    principal = seen.need(Scope.DELIVERIES_WRITE)
    await deliveries_api.redeliver(
        webhook_id,
        delivery_id,
        principal,
        _state(request, "webhooks"),
        _state(request, "deliveries"),
        _state(request, "event_log"),
        _state(request, "commands"),
    )
    return redirect(f"{PREFIX}/webhooks/{webhook_id}/deliveries/{delivery_id}", notice="redelivery_queued")


# -- integrations ----------------------------------------------------------------------------------------------


@router.get("/integrations")
async def integrations(request: Request) -> HTMLResponse:
    seen = await viewer(request)
    principal = seen.need(Scope.INTEGRATIONS_READ)
    listed = await integrations_api.list_integrations(
        principal, services(request), _state(request, "integrations"), None, None, 1, 100
    )
    choices = [views.partner_form(partner) for partner in partners.registered()]
    return render(seen, "integrations.html", integrations=listed.data, choices=choices)


def _partner(provider: str | None) -> Partner:
    """A registered partner by name; the console's choices are the partner registry's, like the API's."""
    partner = partners.get(provider or "")
    if partner is None:
        choices = ", ".join(known.name for known in partners.registered())
        raise ApiError(422, "validation_error", f"provider: one of {choices}", field="provider")
    return partner


def _integration_form_context(
    form: views.PartnerForm, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    return {"form": form, "values": values, "errors": errors, "hints": views.field_hints()}


async def _integration(
    request: Request, principal: Principal, integration_id: str
) -> tuple[integration_rules.IntegrationPublic, Partner]:
    """The tenant's integration (404 for another tenant's) and its partner."""
    found = (
        await integrations_api.get_integration(
            integration_id, principal, services(request), _state(request, "integrations")
        )
    ).data
    return found, _partner(str(found.provider))


def _integration_page(
    request: Request,
    seen: Viewer,
    found: integration_rules.IntegrationPublic,
    partner: Partner,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    return render(
        seen,
        "integration.html",
        status_code,
        integration=found,
        inbound=views.inbound_urls(console(request).ingress_url, found, partner),
        **_integration_form_context(views.partner_form(partner), values, errors),
        **extra,
    )


@router.get("/integrations/new")
async def new_integration(request: Request, provider: Text = None) -> HTMLResponse:
    seen = await viewer(request)
    seen.need(Scope.INTEGRATIONS_WRITE)
    chosen = views.partner_form(_partner(provider))
    return render(
        seen,
        "integration_form.html",
        **_integration_form_context(chosen, {"is_active": True}, {}),
        integration=None,
    )


@router.post("/integrations/new")
async def create_integration(request: Request) -> Response:
    seen = await viewer(request)
    principal = seen.need(Scope.INTEGRATIONS_WRITE)
    sent = await form(request, seen)
    chosen = views.partner_form(_partner(sent.get("provider")))
    values = views.integration_values(sent, chosen)
    try:
        body = integration_rules.integration_models().create.model_validate(values)
        created = await integrations_api.create_integration(
            body, principal, services(request), _state(request, "integrations")
        )
    except ValidationError as exc:
        errors = field_errors(exc)
    except ApiError as exc:
        if exc.status_code not in (409, 422):
            raise
        errors = api_error_field(exc)
    else:
        return redirect(f"{PREFIX}/integrations/{created.data.id}", notice="created")
    return render(
        seen,
        "integration_form.html",
        422,
        **_integration_form_context(chosen, views.without_secrets(values, chosen), errors),
        integration=None,
    )


@router.get("/integrations/{integration_id}")
async def integration(request: Request, integration_id: str) -> HTMLResponse:
    seen = await viewer(request)
    principal = seen.need(Scope.INTEGRATIONS_READ)
    found, partner = await _integration(request, principal, integration_id)
    return _integration_page(request, seen, found, partner, views.integration_form_values(found), {})


@router.post("/integrations/{integration_id}/edit")
async def update_integration(request: Request, integration_id: str) -> Response:
    seen = await viewer(request)
    principal = seen.need(Scope.INTEGRATIONS_WRITE)
    sent = await form(request, seen)
    found, partner = await _integration(request, principal, integration_id)
    chosen = views.partner_form(partner)
    # Write-only secrets: an empty secret field keeps the stored one (merge patch: absent = unchanged).
    values = views.integration_values(sent, chosen, patch=True)
    try:
        body = integration_rules.integration_models().update.model_validate(values)
        await integrations_api.update_integration(
            integration_id, body, principal, services(request), _state(request, "integrations")
        )
    except ValidationError as exc:
        errors = field_errors(exc)
    except ApiError as exc:
        if exc.status_code not in (409, 422):
            raise
        errors = api_error_field(exc)
    else:
        return redirect(f"{PREFIX}/integrations/{integration_id}", notice="saved")
    return _integration_page(
        request, seen, found, partner, views.without_secrets(values, chosen), errors, 422, notice=None
    )


@router.post("/integrations/{integration_id}/active")
async def toggle_integration(request: Request, integration_id: str) -> Response:
    seen = await viewer(request)
    principal = seen.need(Scope.INTEGRATIONS_WRITE)
    sent = await form(request, seen)
    active = sent.get("is_active") == "true"
    body = integration_rules.integration_models().update(is_active=active)
    await integrations_api.update_integration(
        integration_id, body, principal, services(request), _state(request, "integrations")
    )
    return redirect(f"{PREFIX}/integrations/{integration_id}", notice="enabled" if active else "disabled")


# -- live chats and review (the ai-responder's API) ------------------------------------------------------------


@router.get("/chats")
async def chats(request: Request) -> HTMLResponse:
    seen = await viewer(request)
    seen.need(Scope.RESPONDER_READ)
    live = await console(request).responder.conversations(seen.tenant_id, "live")
    return render(seen, "chats.html", conversations=live)


@router.get("/chats/{conversation_id}")
async def chat(request: Request, conversation_id: str) -> HTMLResponse:
    seen = await viewer(request)
    seen.need(Scope.RESPONDER_READ)
    found = await console(request).responder.conversation(seen.tenant_id, conversation_id)
    return render(seen, "chat.html", conversation=found)


@router.post("/chats/{conversation_id}/reply")
async def reply(request: Request, conversation_id: str) -> Response:
    seen = await viewer(request)
    sent = await form(request, seen)
    seen.need(Scope.RESPONDER_WRITE)
    text = sent.get("text")
    if not text:
        raise ApiError(422, "validation_error", "text: write a message")
    await console(request).responder.agent_message(
        seen.tenant_id, conversation_id, text, sent.get("agent_name") or "Agent"
    )
    return redirect(f"{PREFIX}/chats/{conversation_id}", notice="sent")


@router.post("/chats/{conversation_id}/close")
async def close_chat(request: Request, conversation_id: str) -> Response:
    seen = await viewer(request)
    await form(request, seen)
    seen.need(Scope.RESPONDER_WRITE)
    await console(request).responder.close_handoff(seen.tenant_id, conversation_id)
    return redirect(f"{PREFIX}/chats", notice="closed")


@router.get("/reviews")
async def reviews(request: Request) -> HTMLResponse:
    seen = await viewer(request)
    seen.need(Scope.RESPONDER_READ)
    held = await console(request).responder.reviews(seen.tenant_id)
    return render(seen, "reviews.html", reviews=held)


@router.post("/reviews/{review_id}/approve")
async def approve(request: Request, review_id: str) -> Response:
    seen = await viewer(request)
    sent = await form(request, seen)
    seen.need(Scope.RESPONDER_WRITE)
    await console(request).responder.approve(
        seen.tenant_id, review_id, sent.get("text") or None, views.reviewer(seen)
    )
    return redirect(f"{PREFIX}/reviews", notice="approved")


@router.post("/reviews/{review_id}/reject")
async def reject(request: Request, review_id: str) -> Response:
    seen = await viewer(request)
    sent = await form(request, seen)
    seen.need(Scope.RESPONDER_WRITE)
    await console(request).responder.reject(
        seen.tenant_id, review_id, sent.get("reason") or "rejected in the console", views.reviewer(seen)
    )
    return redirect(f"{PREFIX}/reviews", notice="rejected")
