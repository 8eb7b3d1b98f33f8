"""HTTP plumbing every service shares: the error shape, health, readiness and Prometheus metrics.

Errors always look like ``{"status": "error", "error": {"code", "message", "field"?}}``: malformed JSON is
400 ``invalid_json``, schema errors 422 ``validation_error`` naming the field, anything unexpected 500
``internal_error`` without details (they go to the log with the request id, never to the client). A success
may carry ``"warnings": [{"code", "message", "field"?}]`` next to ``data``: something accepted that the client
should look at (a URL whose host does not resolve from here); the key is absent when there is none.

Every JSON body is decoded by ``strict_json`` (bounded nesting, RFC 8259 numbers and strings): routes that read
the body themselves call ``parse_json_body``; routes that let FastAPI parse it get the same decoder through
``BoundedJsonRoute``, which ``build_service_app`` requires of every router.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, get_type_hints

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from switchboard_contracts import strict_json
from switchboard_platform.loop_lag import EventLoopLag

log = logging.getLogger("switchboard.http")

Probe = Callable[[], Awaitable[object]]


class ApiError(Exception):
    """An error a client can act on: raised anywhere, rendered in the shared error shape."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


class ApiWarning(BaseModel):
    """Something accepted that the client should look at; it is in the success envelope's ``warnings``."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable machine-readable code", examples=["unresolved_host"])
    message: str = Field(description="What to look at, for a human")
    field: str | None = Field(
        default=None, description="The request field it is about, dotted", exclude_if=lambda v: v is None
    )

    def body(self) -> dict[str, str]:
        return self.model_dump()


def success_body(data: Any, *, warnings: Sequence[ApiWarning] = (), **extra: Any) -> dict[str, Any]:
    """The success envelope every API answers with: ``{"status": "success", "data": ...}`` (plus e.g.
    ``pagination``, and ``warnings`` when there are any)."""
    body = {"status": "success", "data": data, **extra}
    if warnings:
        body["warnings"] = [warning.body() for warning in warnings]
    return body


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"status": "error", "error": error}


def parse_json_body(body: bytes, *, object_required: bool = False) -> Any:
    """A request body through the shared decoder; 400 ``invalid_json`` naming what is wrong with it."""
    try:
        return strict_json.loads_object(body) if object_required else strict_json.loads(body)
    except strict_json.InvalidJson as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from None


class _BoundedJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_json.loads(await self.body())
        return self._json


class BoundedJsonRoute(APIRoute):
    """An APIRoute whose JSON body FastAPI decodes with ``strict_json`` instead of ``json.loads``.

    ``strict_json.InvalidJson`` is a ``json.JSONDecodeError``, which FastAPI reports as a ``json_invalid``
    validation error, and ``install_error_handlers`` turns that into 400 ``invalid_json``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handle(_BoundedJsonRequest(request.scope, request.receive))

        return bounded


class DirectRoute(BoundedJsonRoute):
    """A route for a hot endpoint written ``async def endpoint(request: Request) -> Response``: called with the
    request and its response sent, without FastAPI's per-request machinery.

    FastAPI runs every request through two exit stacks, its exception wrapper, dependency solving (the request
    itself is a dependency), body sniffing and the serialisation of the result: ~30 µs of CPU on ingress's
    ``POST /v1/events``, where the endpoint's own work (auth, parse, hand the record to Kafka) is about as much.
    An endpoint that reads what it needs from the request and builds its response has no use for any of it.
    Errors it raises reach the app's exception handlers as before (``ExceptionMiddleware``), and the route is
    documented like any other (declare ``status_code``, ``response_model`` and ``responses``).

    The shape is checked when the route is declared: one parameter, the request; a ``Response`` returned; no
    dependencies (they would never run)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        hints = get_type_hints(endpoint)
        parameters = list(inspect.signature(endpoint).parameters)
        takes_request = len(parameters) == 1 and _is_subclass(hints.get(parameters[0]), Request)
        if not (
            inspect.iscoroutinefunction(endpoint)
            and takes_request
            and _is_subclass(hints.get("return"), Response)
            and not self.dependencies
        ):
            raise TypeError(
                f"DirectRoute {path}: the endpoint must be `async def {endpoint.__name__}(request: Request) -> "
                "Response` with no dependencies"
            )
        call: Callable[[Request], Awaitable[Response]] = endpoint

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await call(_BoundedJsonRequest(scope, receive, send))
            await response(scope, receive, send)

        self.app = app


def _is_subclass(hint: object, cls: type) -> bool:
    return isinstance(hint, type) and issubclass(hint, cls)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


#: Where BodySizeLimit notes, in the request's scope, that it answered 413 and cut the body short.
_BODY_REFUSED = "switchboard.body_refused"
#: The status nginx logs for a client that went away before its request was complete. Nobody receives it; it
#: is what the request metrics record.
CLIENT_CLOSED_REQUEST = 499


def _body_cut_short(request: Request) -> JSONResponse:
    """A body that never arrived whole: refused as too large (already answered 413 and logged), or abandoned by
    the client. Neither is a server error, and an unauthenticated caller must not be able to write tracebacks."""
    if not request.scope.get(_BODY_REFUSED):
        log.info(
            "client disconnected before sending the whole body",
            extra={"method": request.method, "path": request.url.path},
        )
    return JSONResponse(
        error_body("client_disconnected", "the request body was not received"), CLIENT_CLOSED_REQUEST
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ClientDisconnect)
    async def _client_disconnect(request: Request, _: ClientDisconnect) -> JSONResponse:
        return _body_cut_short(request)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field), exc.status_code, headers=exc.headers
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, ClientDisconnect):  # FastAPI reading a body it decodes itself
            return _body_cut_short(request)
        code = _STATUS_CODES.get(exc.status_code, "error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
        if first.get("type") == "json_invalid":
            ctx = first.get("ctx")
            reason = ctx.get("error") if isinstance(ctx, dict) else None
            message = (
                f"request body is not valid JSON: {reason}" if reason else "request body is not valid JSON"
            )
            return JSONResponse(error_body("invalid_json", message), 400)
        loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
        field = ".".join(loc) or None
        message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
        return JSONResponse(error_body("validation_error", message, field), 422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(error_body("internal_error", "internal error"), 500)


class Metrics:
    """Per-app Prometheus registry (several apps share a process in tests, so no global registry)."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.service = service
        self.http_requests = Counter(
            "http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.http_latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        #: Started and stopped by the app's lifespan (``build_service_app``).
        self.event_loop_lag = EventLoopLag(self.registry)
        # Asked again on every scrape, not only on /readyz: the kubelet's readiness probe is not the only
        # reader (compose has none), and an alert on Kafka being unreachable needs a fresh value.
        self.dependency_up = Gauge(
            "dependency_up",
            "1 while a dependency answers (kafka, mongodb, the config view), 0 while not; asked on every scrape "
            "and /readyz",
            ["dependency"],
            registry=self.registry,
        )
        #: Refreshed before every scrape, each within the probes' timeout: gauges whose value takes I/O to
        #: read (a count in MongoDB). A failing refresh leaves its gauge as it was.
        self.before_scrape: list[Callable[[], Awaitable[None]]] = []

    def install(self, app: FastAPI) -> None:
        app.add_middleware(_ObserveRequests, metrics=self)


class _ObserveRequests:
    """Counts and times every HTTP request by method, route template and status.

    A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs each
    request through an extra task group and memory streams, which cost ingress about a fifth of its throughput.
    The route template is read after the app ran: the router records the matched route in the shared scope.
    """

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        #: (method, route template, status) -> its request counter and latency histogram: Prometheus's ``labels()``
        #: validates and looks its values up again on every call (~3 µs a request for the two, on ingress).
        #: As many entries as the metrics have label sets.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            key = (scope["method"], getattr(scope.get("route"), "path", "unmatched"), status)
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = self._label(*key)
            requests, latency = children
            requests.inc()
            latency.observe(time.perf_counter() - started)

    def _label(self, method: str, template: str, status: int) -> tuple[Counter, Histogram]:
        return (
            self.metrics.http_requests.labels(method, template, str(status)),
            self.metrics.http_latency.labels(method, template),
        )


def health_router(probes: Mapping[str, Probe], metrics: Metrics, timeout_s: float = 2.0) -> APIRouter:
    """``/healthz`` (the process answers), ``/readyz`` (every dependency answers) and ``/metrics``."""
    router = APIRouter(tags=["operations"], route_class=BoundedJsonRoute)

    @router.get("/healthz", summary="Liveness: the process is serving")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    async def check(probe: Probe) -> str:
        try:
            result = await asyncio.wait_for(probe(), timeout_s)
        except TimeoutError:
            return "timeout"
        except Exception as exc:  # a probe's failure is the answer, whatever it is
            return f"error: {type(exc).__name__}"
        return "ok" if result is not False else "unavailable"

    async def check_all() -> dict[str, str]:
        names = list(probes)
        results = await asyncio.gather(*(check(probes[name]) for name in names))
        checks = dict(zip(names, results, strict=True))
        for name, state in checks.items():
            metrics.dependency_up.labels(name).set(1 if state == "ok" else 0)
        return checks

    async def refresh(gauge: Callable[[], Awaitable[None]]) -> None:
        try:
            await asyncio.wait_for(gauge(), timeout_s)
        except Exception:  # the gauge keeps its last value; /metrics answers regardless
            log.debug("a metric refresh failed before a scrape", exc_info=True)

    @router.get(
        "/readyz",
        summary="Readiness: Kafka and MongoDB are reachable",
        responses={503: {"description": "A dependency does not answer; ``checks`` says which"}},
    )
    async def readyz() -> JSONResponse:
        checks = await check_all()
        ready = all(state == "ok" for state in checks.values())
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics_endpoint() -> Response:
        await asyncio.gather(check_all(), *(refresh(gauge) for gauge in metrics.before_scrape))
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


class BodySizeLimit:
    """ASGI middleware: 413 for request bodies over ``limit`` bytes, judged by Content-Length when sent (the
    server reads no more than it says) and by counting chunks otherwise, so an oversized body is refused
    without being buffered.

    When a streamed body crosses the limit the middleware answers 413 itself and tells the app the client
    disconnected (frameworks turn errors raised while reading a body into 400s); whatever the app sends
    afterwards is dropped. The refusal is logged once, at INFO, and marked in the scope so that the app's
    ``ClientDisconnect`` is not reported again as a disconnect (or as an unhandled error).

    Before answering, the rest of the body is read and thrown away, up to ``DRAIN_BYTES`` and
    ``DRAIN_TIMEOUT_S``: a server that closes with request bytes unread makes the kernel reset the connection,
    and the client then loses the 413 it was sent (tests/fuzz saw it for 1 MB chunked bodies). A body larger
    still is cut off after the cap, so a huge upload costs at most that much.
    """

    DRAIN_BYTES = 1024 * 1024
    DRAIN_TIMEOUT_S = 5.0

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        declared = headers.get(b"content-length", b"")
        if declared.isdigit():
            if int(declared) > self.limit:
                # A client waiting for "100 Continue" has sent nothing yet, and one announcing more than the
                # cap would be cut off anyway: neither is worth reading.
                if (
                    headers.get(b"expect", b"").lower() != b"100-continue"
                    and int(declared) <= self.DRAIN_BYTES
                ):
                    await self._drain(receive, more_body=True)
                await self._refuse(scope, send)
                return
            if b"transfer-encoding" not in headers:
                # The server frames this body by its Content-Length (HTTP/1.1 parsers read exactly that many
                # bytes, HTTP/2 ones refuse a mismatch), so no more than the limit can arrive: nothing to count
                # (~4 µs a request saved on ingress). Beside a Transfer-Encoding the length is not what frames
                # the body, and the chunks are counted.
                await self.app(scope, receive, send)
                return
        seen = 0
        response_started = False
        refused = False

        async def limited_receive() -> Any:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit and not response_started:
                    refused = True
                    await self._drain(receive, more_body=message.get("more_body", False))
                    await self._refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Any) -> None:
            nonlocal response_started
            if refused:
                return
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _drain(self, receive: Any, *, more_body: bool) -> None:
        drained = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.DRAIN_TIMEOUT_S):
                while more_body and drained < self.DRAIN_BYTES:
                    message = await receive()
                    if message["type"] != "http.request":
                        return
                    drained += len(message.get("body", b""))
                    more_body = message.get("more_body", False)

    async def _refuse(self, scope: Any, send: Any) -> None:
        scope[_BODY_REFUSED] = True
        log.info(
            "request body over %d bytes refused (413)",
            self.limit,
            extra={"method": scope.get("method"), "path": scope.get("path")},
        )
        body = json.dumps(
            error_body("payload_too_large", f"request body exceeds {self.limit} bytes")
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
