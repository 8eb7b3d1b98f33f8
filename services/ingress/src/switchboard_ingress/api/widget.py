"""seed 004: the chat widget's backend — ``POST /chat``, the contact form ``POST /contact-form``, ``GET /health``.

The widget is configured with a URL only, so the integration (and through it the tenant) is named in the query:
``https://<ingress>/chat?integration=<id>`` and ``/contact-form?integration=<id>``.

- ``POST /chat`` ``{"prompt", "session_id"}`` → the AI answer, synchronously: ``{"output"}`` for text or
  ``{"content", "content_type": article|form|card, "content_attributes"}``. The prompt is published as
  ``message.received`` (conversation = session) with a ``replyto`` correlation id and the answer is awaited on
  ``switchboard.replies`` (``SB_INGRESS_REPLY_TIMEOUT_S``); if none arrives, 504 with the seed's apology as
  ``output``. Validation is the seed's: 400 ``{"error": "Invalid prompt" | "Invalid session_id" | "Prompt too
  long"}`` (prompt ≤ 1000 characters).
- ``GET /chat/messages?integration=<id>&session_id=<s>&after=<cursor>``: once the conversation was handed off
  to a person, the agent's messages (``{"messages": [{"id", "text", "author", "at", "cursor"}], "cursor"}``);
  the widget polls it every few seconds, sending back the ``cursor`` it got (start with -1, the default).
  Not rate-limited (an in-memory read, see ``adapters.agent_messages``); same origin rules as ``/chat``.
- ``POST /contact-form``: the seed's form validation (``name``, ``email``, ``message`` required; email format),
  then ``form.submitted``; ``{"success": true, "message": "Thank you! …"}``.
- CORS: preflight ``OPTIONS`` and the response headers for origins on the tenant's allow-list (see
  ``domain.widget_policy``); other origins get 403 and no CORS headers. ``X-CSRFToken`` is required when the
  tenant enables it (403 ``{"error": "Invalid CSRF token"}``); ``GET /chat/csrf-token`` issues one.
- Limits: per client IP and integration (seed 004's 100 per 15 minutes by default), 429 + Retry-After.

Errors here use the seed's ``{"error": "<message>"}`` shape, with a machine ``code`` beside it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from switchboard_contracts.events import REPLY_TO_EXTENSION, Reply, WidgetResponse
from switchboard_contracts.partners.inbound import Accepted
from switchboard_ingress.api.webhooks import origin_of
from switchboard_ingress.deps import (
    AgentMessagesDep,
    DirectoryDep,
    GatewayDep,
    MetricsDep,
    RepliesDep,
    SettingsDep,
)
from switchboard_ingress.domain.directory import Directory, Integration, WidgetPolicy
from switchboard_ingress.domain.generic import (
    WidgetInputError,
    chat_event,
    form_event,
    parse_chat,
    parse_form,
)
from switchboard_ingress.domain.widget_policy import (
    cors_headers,
    csrf_token_valid,
    issue_csrf_token,
    origin_allowed,
)
from switchboard_ingress.service import Gateway, Limit, RateLimited, Unavailable
from switchboard_ingress.settings import IngressSettings
from switchboard_platform.http import ApiError, BoundedJsonRoute, parse_json_body
from switchboard_platform.settings import Environment

router = APIRouter(tags=["seed 004: chat widget"], route_class=BoundedJsonRoute)

APOLOGY = "I'm sorry, I'm experiencing technical difficulties. Please try again."
FORM_THANKS = "Thank you! We received your message and will respond soon."
FORM_FAILED = "Failed to submit form. Please try again."
TOO_MANY = "Too many chat requests, please try again later."
IntegrationParam = Annotated[
    str, Query(alias="integration", min_length=1, max_length=200, description="The widget's integration id")
]


#: What ``_caller`` refuses with, on every route that names a widget.
REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "Origin not allowed"},
    404: {"description": "Unknown widget"},
}


class WidgetError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Caller:
    integration: Integration
    policy: WidgetPolicy
    cors: dict[str, str]
    origin: str | None


def _policy(
    directory: Directory, settings: IngressSettings, integration: Integration
) -> tuple[WidgetPolicy, bool]:
    tenant = directory.tenant(integration.tenant_id)
    development = settings.environment is Environment.DEVELOPMENT or bool(tenant and tenant.development_mode)
    if tenant is not None and tenant.widget is not None:
        return tenant.widget, development
    configured = settings.widgets.get(integration.tenant_id)
    if configured is None:
        return WidgetPolicy(), development
    return WidgetPolicy(tuple(configured.allowed_origins), configured.csrf), development


def _caller(request: Request, directory: Directory, settings: IngressSettings, integration_id: str) -> Caller:
    integration = directory.integration(integration_id)
    if integration is None or not integration.is_active:
        raise WidgetError(404, "integration_not_found", "Unknown widget")
    policy, development = _policy(directory, settings, integration)
    origin = request.headers.get("origin")
    cors: dict[str, str] = {}
    if origin is not None:
        if not origin_allowed(origin, policy.allowed_origins, development=development):
            raise WidgetError(403, "origin_not_allowed", "Origin not allowed")
        cors = cors_headers(origin)
    return Caller(integration, policy, cors, origin)


def _error(exc: WidgetError, cors: Mapping[str, str]) -> JSONResponse:
    return JSONResponse({"error": exc.message, "code": exc.code}, exc.status, headers={**cors, **exc.headers})


def _client_ip(request: Request, settings: IngressSettings) -> str:
    if settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


def _check_csrf(caller: Caller, request: Request, settings: IngressSettings) -> None:
    if caller.policy.csrf and not csrf_token_valid(
        settings.csrf_secret.get_secret_value(), caller.integration.id, request.headers.get("x-csrftoken")
    ):
        raise WidgetError(403, "invalid_csrf_token", "Invalid CSRF token")


async def _admit(
    gateway: Gateway, caller: Caller, request: Request, settings: IngressSettings, event: Any, failure: str
) -> None:
    limit = Limit(
        key=f"widget:{caller.integration.id}:{_client_ip(request, settings)}",
        per_window=settings.widget_rate_limit,
        window_s=settings.widget_rate_window_s,
    )
    try:
        await gateway.admit(origin_of(caller.integration), Accepted((event,), None), limit)
    except RateLimited as exc:
        raise WidgetError(429, "rate_limited", TOO_MANY, {"Retry-After": str(exc.retry_after)}) from None
    except Unavailable:
        raise WidgetError(503, "unavailable", failure, {"Retry-After": str(settings.retry_after_s)}) from None


def _metadata(caller: Caller, request: Request) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    if caller.origin:
        metadata["origin"] = caller.origin
    agent = request.headers.get("user-agent")
    if agent:
        metadata["user_agent"] = agent[:300]
    return metadata


async def _preflight(
    request: Request, directory: Directory, settings: IngressSettings, integration_id: str
) -> Response:
    try:
        caller = _caller(request, directory, settings, integration_id)
    except WidgetError as exc:
        return _error(exc, {})
    return Response(status_code=200, headers=caller.cors)


@router.options("/chat", summary="CORS preflight for POST /chat", responses=REFUSED)
async def chat_preflight(
    request: Request, settings: SettingsDep, directory: DirectoryDep, integration_id: IntegrationParam
) -> Response:
    return await _preflight(request, directory, settings, integration_id)


@router.post(
    "/chat",
    summary="seed 004: answer a chat widget prompt synchronously",
    responses={400: {}, 403: {}, 404: {}, 429: {}, 503: {}, 504: {"description": "No answer in time"}},
)
async def chat(
    request: Request,
    settings: SettingsDep,
    metrics: MetricsDep,
    directory: DirectoryDep,
    gateway: GatewayDep,
    replies: RepliesDep,
    integration_id: IntegrationParam,
) -> Response:
    cors: dict[str, str] = {}
    correlation_id = uuid.uuid4().hex
    try:
        caller = _caller(request, directory, settings, integration_id)
        cors = caller.cors
        _check_csrf(caller, request, settings)
        try:
            payload = parse_json_body(await request.body())
        except ApiError:
            raise WidgetError(400, "invalid_json", "Invalid JSON") from None
        try:
            prompt, session_id = parse_chat(payload)
        except WidgetInputError as exc:
            raise WidgetError(400, exc.code, exc.message) from None
        _, event = chat_event(prompt, session_id, origin_of(caller.integration), _metadata(caller, request))
        event = event.model_copy(update={"extensions": {REPLY_TO_EXTENSION: correlation_id}})
        pending = replies.expect(correlation_id)
        await _admit(gateway, caller, request, settings, event, APOLOGY)
        try:
            reply_event = await asyncio.wait_for(pending, settings.reply_timeout_s)
        except TimeoutError:
            metrics.sync_replies.labels("chat", "timeout").inc()
            return JSONResponse({"output": APOLOGY, "code": "answer_timeout"}, 504, headers=cors)
        metrics.sync_replies.labels("chat", "answered").inc()
        answer = WidgetResponse.from_reply(reply_event.data_as(Reply))
        return JSONResponse(answer.body(), 200, headers=cors)
    except WidgetError as exc:
        if exc.code == "unavailable":
            return JSONResponse(
                {"output": exc.message, "code": exc.code}, exc.status, headers={**cors, **exc.headers}
            )
        return _error(exc, cors)
    finally:
        replies.forget(correlation_id)


@router.get(
    "/chat/messages",
    summary="Agent messages of a handed-off widget conversation, for the widget to poll",
    responses=REFUSED,
)
async def agent_messages(
    request: Request,
    settings: SettingsDep,
    directory: DirectoryDep,
    messages: AgentMessagesDep,
    integration_id: IntegrationParam,
    session_id: Annotated[str, Query(min_length=1, max_length=200, description="The widget's session_id")],
    after: Annotated[int, Query(ge=-1, description="The cursor of the last message received (-1: all)")] = -1,
) -> Response:
    try:
        caller = _caller(request, directory, settings, integration_id)
    except WidgetError as exc:
        return _error(exc, {})
    found = messages.after(caller.integration.id, session_id, after)
    cursor = found[-1]["cursor"] if found else after
    return JSONResponse({"messages": found, "cursor": cursor}, 200, headers=caller.cors)


@router.get(
    "/chat/csrf-token", summary="seed 004: an X-CSRFToken for tenants that require one", responses=REFUSED
)
async def csrf_token(
    request: Request, settings: SettingsDep, directory: DirectoryDep, integration_id: IntegrationParam
) -> Response:
    try:
        caller = _caller(request, directory, settings, integration_id)
    except WidgetError as exc:
        return _error(exc, {})
    token = issue_csrf_token(
        settings.csrf_secret.get_secret_value(), caller.integration.id, settings.csrf_ttl_s
    )
    return JSONResponse({"csrf_token": token, "expires_in": settings.csrf_ttl_s}, 200, headers=caller.cors)


@router.options("/chat/csrf-token", summary="CORS preflight for GET /chat/csrf-token", responses=REFUSED)
async def csrf_preflight(
    request: Request, settings: SettingsDep, directory: DirectoryDep, integration_id: IntegrationParam
) -> Response:
    return await _preflight(request, directory, settings, integration_id)


@router.options("/contact-form", summary="CORS preflight for POST /contact-form", responses=REFUSED)
async def form_preflight(
    request: Request, settings: SettingsDep, directory: DirectoryDep, integration_id: IntegrationParam
) -> Response:
    return await _preflight(request, directory, settings, integration_id)


@router.post(
    "/contact-form",
    summary="seed 004: receive a chat widget form submission",
    responses={400: {}, 403: {}, 404: {}, 429: {}, 503: {}},
)
async def contact_form(
    request: Request,
    settings: SettingsDep,
    directory: DirectoryDep,
    gateway: GatewayDep,
    integration_id: IntegrationParam,
    form_id: Annotated[str, Query(alias="form", max_length=100)] = "contact",
    session_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    cors: dict[str, str] = {}
    try:
        caller = _caller(request, directory, settings, integration_id)
        cors = caller.cors
        _check_csrf(caller, request, settings)
        body = await request.body()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            payload: Any = dict(parse_qsl(body.decode(errors="replace")))
        else:
            try:
                payload = parse_json_body(body)
            except ApiError:
                raise WidgetError(400, "invalid_json", "Invalid JSON") from None
        try:
            fields = parse_form(payload)
        except WidgetInputError as exc:
            raise WidgetError(400, exc.code, exc.message) from None
        session = session_id or fields.pop("session_id", None)
        _, event = form_event(
            fields, origin_of(caller.integration), form_id, session, _metadata(caller, request)
        )
        await _admit(gateway, caller, request, settings, event, FORM_FAILED)
        return JSONResponse({"success": True, "message": FORM_THANKS}, 200, headers=cors)
    except WidgetError as exc:
        return _error(exc, cors)


@router.get("/health", summary="seed 004: liveness in the widget guide's shape")
async def health() -> dict[str, str]:
    return {"status": "ok", "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
