"""What every console page shares: the route class that turns errors into HTML pages, the signed-in viewer,
CSRF-checked forms, and rendering with the session cookie.

Pages call the same functions the ``/api`` routes call (``api.webhooks.create_webhook``…), with the viewer's
principal in place of the bearer token's, so a page shows exactly what the API would answer and another
tenant's id is the API's 404 — rendered as a page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment
from pydantic import ValidationError

from switchboard_platform.http import ApiError, BoundedJsonRoute
from switchboard_registry.adapters.tenants import Principal
from switchboard_registry.console.responder import ResponderClient
from switchboard_registry.console.session import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    Session,
    SessionCodec,
    token_digest,
)
from switchboard_registry.deps import Services
from switchboard_registry.domain.keys import Scope, grants

PREFIX = "/admin"


@dataclass
class Console:
    """The console's own objects, built once by its feature wiring (``app.state.console``)."""

    templates: Environment
    codec: SessionCodec
    secure_cookie: bool
    responder: ResponderClient
    ingress_url: str


class SignInRequired(Exception):
    """No session, or one that no longer holds (expired, key revoked, admin token changed)."""


class CsrfRefused(Exception):
    """A form posted without the session's CSRF token."""


@dataclass
class Viewer:
    """Who is looking: the session (also anonymous) and, once signed in, the principal pages act as."""

    request: Request
    session: Session
    principal: Principal | None = None
    tenant_name: str | None = None
    #: Set when the cookie must be (re)written with this response.
    fresh: bool = False

    @property
    def tenant_id(self) -> str:
        if self.principal is None:
            raise SignInRequired
        return self.principal.tenant_id

    def need(self, scope: Scope) -> Principal:
        if self.principal is None:
            raise SignInRequired
        if not grants(self.principal.scopes, scope):
            raise ApiError(403, "forbidden", f"this API key lacks the {scope.value} scope")
        return self.principal


def console(request: Request) -> Console:
    value: Console = request.app.state.console
    return value


def services(request: Request) -> Services:
    value: Services = request.app.state.services
    return value


async def viewer(request: Request, *, required: bool = True) -> Viewer:
    """The request's viewer. ``required``: a page that needs a signed-in tenant (else SignInRequired)."""
    app = console(request)
    session = app.codec.open(request.cookies.get(COOKIE))
    if session is None:
        if required:
            raise SignInRequired
        return Viewer(request, Session.anonymous(), fresh=True)
    if not session.signed_in:
        if required:
            raise SignInRequired
        return Viewer(request, session)
    principal = await _principal(request, session)
    if principal is None:
        if required:
            raise SignInRequired
        return Viewer(request, Session.anonymous(), fresh=True)
    tenant = await services(request).tenants.get_tenant(principal.tenant_id)
    return Viewer(request, session, principal, tenant["name"] if tenant else None)


async def _principal(request: Request, session: Session) -> Principal | None:
    registry = services(request)
    if session.tenant_id is None:
        return None
    if session.role == "tenant" and session.key_id is not None:
        return await registry.tenants.principal_of_key(session.tenant_id, session.key_id)
    if session.role == "operator":
        if session.operator != token_digest(registry.settings.admin_token.get_secret_value()):
            return None
        tenant = await registry.tenants.get_tenant(session.tenant_id)
        if tenant is None:
            return None
        return Principal(
            tenant_id=session.tenant_id,
            key_id="operator",
            scopes=frozenset({Scope.ALL.value}),
            development_mode=bool(tenant.get("development_mode")),
        )
    return None


class Form:
    """A posted urlencoded form (repeated names kept, for checkboxes)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.pairs:
            if key == name:
                return value.strip()
        return default

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def checked(self, name: str) -> bool:
        return name in {key for key, _ in self.pairs}


async def form(request: Request, seen: Viewer) -> Form:
    """The posted form, refused (CsrfRefused: 403) unless it carries the session's CSRF token, in the form
    field or, for htmx requests, the header."""
    body = (await request.body()).decode("utf-8", errors="replace")
    parsed = Form(parse_qsl(body, keep_blank_values=True))
    sent = parsed.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not seen.session.csrf_matches(sent or None):
        raise CsrfRefused
    return parsed


def render(
    seen: Viewer,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    app = console(seen.request)
    # A redirect after a form says what happened with ?notice=<code> (the template knows the codes' texts).
    context.setdefault("notice", seen.request.query_params.get("notice"))
    page = app.templates.get_template(template).render(
        viewer=seen,
        csrf=seen.session.csrf,
        path=seen.request.url.path,
        ingress_url=app.ingress_url,
        **context,
    )
    response = HTMLResponse(page, status_code)
    if seen.fresh:
        set_session(response, seen.request, seen.session)
    return response


def set_session(response: Response, request: Request, session: Session) -> None:
    app = console(request)
    response.set_cookie(
        COOKIE,
        app.codec.seal(session),
        max_age=app.codec.ttl_s,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=app.secure_cookie,
    )


def redirect(path: str, **query: str | None) -> RedirectResponse:
    sent = {name: value for name, value in query.items() if value}
    return RedirectResponse(f"{path}?{urlencode(sent)}" if sent else path, status_code=303)


def field_errors(exc: ValidationError) -> dict[str, str]:
    """pydantic's errors by dotted field name, for the form to show beside each input."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "form"
        errors.setdefault(name, error["msg"].removeprefix("Value error, "))
    return errors


def api_error_field(exc: ApiError) -> dict[str, str]:
    return {exc.field or "form": exc.message}


_TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    422: "Invalid input",
    502: "Upstream error",
    503: "Unavailable",
}


class ConsoleRoute(BoundedJsonRoute):
    """(Bounded like every route of the service: its pages take forms, but the rule is one decoder per service.)
    Answers a console page's failures with pages, never JSON: sign-in required → the sign-in page (303);
    a form without its CSRF token → 403; the API's errors (404 for another tenant's id) → a page with the
    same status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                return redirect(f"{PREFIX}/sign-in", next=request.url.path)
            except CsrfRefused:
                response = await _error_page(
                    request,
                    403,
                    "This form was not sent by the console (missing or "
                    "stale CSRF token). Reload the page and try again.",
                )
            except ApiError as exc:
                response = await _error_page(request, exc.status_code, exc.message)
            except RequestValidationError as exc:
                response = await _error_page(request, 422, _first_error(exc.errors()))
            # Pages show secrets and tenant data: never cached, never framed.
            response.headers["Cache-Control"] = "no-store"
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Referrer-Policy"] = "same-origin"
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; "
                "form-action 'self'; base-uri 'none'"
            )
            return response

        return guarded


def _first_error(errors: Any) -> str:
    for error in errors:
        if isinstance(error, Mapping):
            location = ".".join(str(part) for part in error.get("loc", ())[1:])
            return f"{location}: {error.get('msg', 'invalid')}" if location else str(error.get("msg"))
    return "invalid request"


async def _error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    try:
        seen = await viewer(request, required=False)
    except ApiError:
        seen = Viewer(request, Session.anonymous(), fresh=True)
    return render(
        seen,
        "error.html",
        status_code,
        title=_TITLES.get(status_code, "Error"),
        message=message,
        status=status_code,
    )
