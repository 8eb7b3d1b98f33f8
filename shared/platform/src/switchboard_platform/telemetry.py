"""Tracing for every service: OpenTelemetry set up from the standard ``OTEL_*`` variables, off by default.

One conversation is one trace. The context crosses

* HTTP into a service: the W3C ``traceparent`` / ``tracestate`` request headers (``TracingMiddleware``);
* Kafka: the same two names as record headers, written by ``CloudEvent.kafka_headers`` (so every producer
  carries them) and read back by ``CloudEvent.from_kafka`` (so every consumer has them on the event). A record
  without them but with the CloudEvents distributed-tracing extension (``ce_traceparent``, or ``traceparent``
  in a structured envelope) joins that trace instead;
* the dispatcher's deliveries topic and retry schedule: inside the delivery task (``traceparent``, and
  ``retry_of`` linking a retry to the attempt before it).

Configuration (read once, by ``configure_tracing`` from the app factory): ``OTEL_TRACES_EXPORTER`` ``otlp``
(OTLP over HTTP/protobuf: ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``_HEADERS``,
``_TIMEOUT``, ``_COMPRESSION``), ``console`` (stderr) or ``none`` — the default, unlike the SDK's, so tracing
costs nothing until an operator asks for it. ``OTEL_SDK_DISABLED=true`` turns it off too. ``OTEL_SERVICE_NAME``
(default ``switchboard-<service>``), ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER`` and the batch
processor's ``OTEL_BSP_*`` are the SDK's own.

Cost when off: every helper starts with one ``_tracer is None`` test; span helpers then return a shared no-op
context manager, or a scope that only binds the log fields (``tenant``, ``event_id``, ``delivery_id``), so the
dispatcher's hot path allocates no span, context or attribute dict per delivery.

Spans never carry a URL path or query (webhook URLs and Chatwoot's path token can hold secrets): HTTP spans
name the route template, client spans the scheme, host and port.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from switchboard_contracts import cloudevents
from switchboard_contracts.cloudevents import TRACEPARENT, TRACESTATE, CloudEvent

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

_PROPAGATOR: Final = TraceContextTextMapPropagator()
_EXPORTERS: Final = ("otlp", "console", "none")

#: Every ``OTEL_*`` variable tracing honours: read here or by the SDK parts ``configure_tracing`` loads (the
#: trace provider, its batch processor and sampler, the OTLP/HTTP span exporter). What a deployment may set
#: besides a service's settings; the deployment tests hold compose and Kubernetes to it.
VARIABLES: Final = frozenset(
    {
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_EXPORTER",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
        "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_BSP_EXPORT_TIMEOUT",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        *(
            f"OTEL_EXPORTER_OTLP_{signal}{setting}"
            for signal in ("", "TRACES_")
            for setting in (
                "PROTOCOL",
                "ENDPOINT",
                "HEADERS",
                "TIMEOUT",
                "COMPRESSION",
                "CERTIFICATE",
                "CLIENT_KEY",
                "CLIENT_CERTIFICATE",
            )
        ),
    }
)

log = logging.getLogger(__name__)

_tracer: Tracer | None = None
_provider: TracerProvider | None = None


class TelemetryConfigError(ValueError):
    """An ``OTEL_*`` variable this build cannot honour; the message names it."""


# -- set-up ------------------------------------------------------------------------------------------------------


def enabled() -> bool:
    return _tracer is not None


def configure_tracing(service: str, environ: Mapping[str, str] | None = None) -> bool:
    """Start tracing if ``OTEL_TRACES_EXPORTER`` asks for it; True when tracing is on. Once per process: the
    first app factory's call decides (tests build several apps in one process)."""
    if _provider is not None:
        return True
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    names = [
        name.strip().lower() for name in env.get("OTEL_TRACES_EXPORTER", "none").split(",") if name.strip()
    ]
    unknown = [name for name in names if name not in _EXPORTERS]
    if unknown:
        raise TelemetryConfigError(
            f"OTEL_TRACES_EXPORTER: unsupported exporter {unknown[0]!r}; use one of {', '.join(_EXPORTERS)}"
        )
    names = [name for name in names if name != "none"]
    if not names:
        return False
    # Imported only when tracing is on: a service that does not trace never loads the SDK.
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            exporters.append(_otlp_exporter(env))
        else:
            exporters.append(ConsoleSpanExporter(out=sys.stderr))
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by Resource.create and win over the default.
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: f"switchboard-{service}"}
    provider = TracerProvider(resource=Resource.create(attributes))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    use_tracer_provider(provider)
    log.info("tracing on", extra={"exporters": ",".join(names)})
    return True


def _otlp_exporter(env: Mapping[str, str]) -> Any:
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol not in (None, "", "http/protobuf"):
        variable = (
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
            if env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            else "OTEL_EXPORTER_OTLP_PROTOCOL"
        )
        # gRPC would add grpcio (tens of MB) to every image; every collector also speaks OTLP/HTTP on 4318.
        raise TelemetryConfigError(f"{variable}: only http/protobuf is supported, not {protocol!r}")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Trace into ``provider`` (None: stop tracing). ``configure_tracing`` calls it; tests pass a provider with
    an in-memory exporter."""
    # The process's one tracing switch, read on hot paths.
    global _tracer, _provider
    _provider = provider
    _tracer = provider.get_tracer("switchboard") if provider is not None else None
    # Records produced under a span carry its context (CloudEvent.kafka_headers).
    cloudevents.use_trace_injector(inject if provider is not None else None)


def flush(timeout_s: float = 5.0) -> None:
    """Export what is buffered (at shutdown, so a stopping service's last spans are not lost)."""
    if _provider is not None:
        _provider.force_flush(int(timeout_s * 1000))


# -- propagation -------------------------------------------------------------------------------------------------


def inject(headers: dict[str, str], traceparent: str | None = None, tracestate: str | None = None) -> None:
    """Add ``traceparent`` (and ``tracestate``) to outgoing ``headers``: the current span's context, or else
    the given one (an event passed on unchanged keeps the context it arrived with)."""
    if _tracer is not None and trace.get_current_span().get_span_context().is_valid:
        _PROPAGATOR.inject(headers)
        return
    cloudevents.pass_trace_context(headers, traceparent, tracestate)


def extract(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(traceparent, tracestate) of lower-cased incoming headers (W3C Trace Context)."""
    return cloudevents.trace_context(headers)


def arrived_with(event: CloudEvent) -> tuple[str | None, str | None]:
    """The context ``event``'s handling continues: its record's W3C headers, else the CloudEvents
    distributed-tracing extension its producer set (``ce_traceparent``, or ``traceparent`` in an envelope)."""
    if event.traceparent is not None:
        return event.traceparent, event.tracestate
    extensions = event.extensions
    if not extensions:
        return None, None
    return extensions.get(TRACEPARENT), extensions.get(TRACESTATE)


def traceparent() -> str | None:
    """The current span's context as a ``traceparent`` value (None when tracing is off or no span is open),
    for records that carry it in their body (the dispatcher's delivery tasks)."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT)


def _context(traceparent: str | None, tracestate: str | None = None) -> Context | None:
    if traceparent is None:
        return None
    carrier = {TRACEPARENT: traceparent}
    if tracestate is not None:
        carrier[TRACESTATE] = tracestate
    return _PROPAGATOR.extract(carrier)


def _link(traceparent: str | None) -> Link | None:
    context = _context(traceparent)
    if context is None:
        return None
    span_context = trace.get_current_span(context).get_span_context()
    return Link(span_context) if span_context.is_valid else None


# -- scopes: a span (when tracing is on) and the log fields of one unit of work ---------------------------------

#: The log fields of the unit of work running in this task: (tenant, event id, delivery id).
_LOG_FIELDS: ContextVar[tuple[str | None, str | None, str | None] | None] = ContextVar(
    "switchboard_log_fields", default=None
)


def log_fields() -> dict[str, str]:
    """The fields every JSON log line carries when known: tenant, event_id, delivery_id, trace_id, span_id."""
    fields: dict[str, str] = {}
    bound = _LOG_FIELDS.get()
    if bound is not None:
        tenant, event_id, delivery_id = bound
        if tenant is not None:
            fields["tenant"] = tenant
        if event_id is not None:
            fields["event_id"] = event_id
        if delivery_id is not None:
            fields["delivery_id"] = delivery_id
    if _tracer is not None:
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            fields["trace_id"] = format(span_context.trace_id, "032x")
            fields["span_id"] = format(span_context.span_id, "016x")
    return fields


class Scope:
    """``with``: binds the log fields and, when tracing is on, makes the span current; ``as`` gives the span
    (None when tracing is off)."""

    __slots__ = ("_fields", "_span", "_span_cm", "_token")

    def __init__(
        self, fields: tuple[str | None, str | None, str | None] | None, span_cm: Any | None = None
    ) -> None:
        self._fields = fields
        self._span_cm = span_cm
        self._token: Token[Any] | None = None
        self._span: Span | None = None

    def __enter__(self) -> Span | None:
        if self._fields is not None:
            self._token = _LOG_FIELDS.set(self._fields)
        if self._span_cm is not None:
            self._span = self._span_cm.__enter__()
        return self._span

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._span_cm is not None:
            self._span_cm.__exit__(kind, error, tb)
        if self._token is not None:
            _LOG_FIELDS.reset(self._token)


#: What span helpers return when tracing is off and there is nothing to bind: shared, so nothing is allocated.
NOOP: Final = Scope(None)


def consuming(name: str, event: CloudEvent, *, bind_logs: bool = True) -> Scope:
    """Handling one consumed event: a CONSUMER span, child of the context the record arrived with. Without
    ``bind_logs`` (a loop that logs nothing per event: the fan-out), nothing at all when tracing is off."""
    fields = (event.tenant, event.id, None) if bind_logs else None
    if _tracer is None:
        return NOOP if fields is None else Scope(fields)
    attributes = {
        "messaging.system": "kafka",
        "cloudevents.event_id": event.id,
        "cloudevents.event_type": event.type,
    }
    if event.tenant is not None:
        attributes["switchboard.tenant"] = event.tenant
    span = _tracer.start_as_current_span(
        name,
        context=_context(*arrived_with(event)),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
    )
    return Scope(fields, span)


def processing_batch(name: str, events: Sequence[CloudEvent | None]) -> Scope:
    """Handling a batch of consumed events (a projection's bulk write): one span linked to each event's context
    (OTel's messaging convention for batches), a child of it when the batch holds one event."""
    if _tracer is None:
        return NOOP
    contexts = [context for event in events if event is not None and (context := arrived_with(event)[0])]
    links = [link for link in map(_link, contexts) if link is not None]
    return Scope(
        None,
        _tracer.start_as_current_span(
            name,
            context=_context(contexts[0]) if len(contexts) == 1 else None,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={"messaging.system": "kafka", "messaging.batch.message_count": len(events)},
        ),
    )


def publishing(topic: str, event: CloudEvent) -> Scope:
    """Publishing one event: a PRODUCER span, whose context the record's headers then carry."""
    if _tracer is None:
        return NOOP
    return Scope(
        None,
        _tracer.start_as_current_span(
            f"publish {topic}",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": topic,
                "cloudevents.event_id": event.id,
                "cloudevents.event_type": event.type,
            },
        ),
    )


def delivering(
    *,
    tenant: str,
    event_id: str | None,
    delivery_id: str,
    attempt: int,
    endpoint_kind: str,
    parent: str | None,
    retry_of: str | None,
) -> Scope:
    """One delivery attempt: a child of the fan-out that created the task (``parent``), linked to the attempt
    it retries (``retry_of``)."""
    fields = (tenant, event_id, delivery_id)
    if _tracer is None:
        return Scope(fields)
    link = _link(retry_of)
    return Scope(
        fields,
        _tracer.start_as_current_span(
            f"deliver {endpoint_kind}",
            context=_context(parent),
            kind=SpanKind.INTERNAL,
            links=[link] if link is not None else None,
            attributes={
                "switchboard.tenant": tenant,
                "switchboard.delivery_id": delivery_id,
                "switchboard.attempt": attempt,
                "switchboard.endpoint_kind": endpoint_kind,
            },
        ),
    )


def http_request(method: str, url: str) -> Scope:
    """One outgoing HTTP request: a CLIENT span naming the method and the server, never the path."""
    if _tracer is None:
        return NOOP
    parts = urlsplit(url)
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.scheme": parts.scheme,
        "server.address": parts.hostname or "",
    }
    if parts.port is not None:
        attributes["server.port"] = parts.port
    # The caller turns failures into SendError-like values; the span says which kind (record_error), without
    # a stack trace per failed attempt.
    span = _tracer.start_as_current_span(
        method, kind=SpanKind.CLIENT, attributes=attributes, record_exception=False
    )
    return Scope(None, span)


def record_status(span: Span | None, status: int) -> None:
    """The HTTP status of a client or server span (4xx and 5xx mark a client span as an error)."""
    if span is not None:
        span.set_attribute("http.response.status_code", status)
        if status >= 400:
            span.set_status(StatusCode.ERROR)


def record_error(span: Span | None, kind: str) -> None:
    """A request that got no HTTP answer: ``error.type`` says why (timeout, connect, dns, tls, ...)."""
    if span is not None:
        span.set_attribute("error.type", kind)
        span.set_status(StatusCode.ERROR)


def annotate(span: Span | None, **attributes: str | int) -> None:
    if span is not None:
        for key, value in attributes.items():
            span.set_attribute(f"switchboard.{key}", value)


class TracingMiddleware:
    """A SERVER span per HTTP request (except ``skip``), named ``<method> <route template>``, child of the
    caller's ``traceparent``. Installed only when tracing is on.

    A plain ASGI middleware (like ``http._ObserveRequests``) rather than opentelemetry-instrumentation-fastapi:
    that one records the request's path and full URL, where Chatwoot's webhook path token and other callers'
    query strings would land in the trace backend."""

    def __init__(self, app: Any, skip: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.skip = skip

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        tracer = _tracer
        if tracer is None or scope["type"] != "http" or scope["path"] in self.skip:
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in (b"traceparent", b"tracestate")
        }
        method = scope["method"]
        with tracer.start_as_current_span(
            method,
            context=_PROPAGATOR.extract(carrier) if carrier else None,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
        ) as span:

            async def traced_send(message: Any) -> None:
                if message["type"] == "http.response.start":
                    status = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(StatusCode.ERROR)
                await send(message)

            try:
                await self.app(scope, receive, traced_send)
            finally:
                template = getattr(scope.get("route"), "path", None)
                if template is not None:
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)
