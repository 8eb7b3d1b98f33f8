"""Tracing: off by default, configured by OTEL_* variables, the context carried by Kafka headers and delivery
tasks, spans without URL paths, and the correlation fields on every JSON log line."""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request
from opentelemetry import environment_variables as otel_api_variables
from opentelemetry.sdk import environment_variables as otel_sdk_variables
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_platform import telemetry
from switchboard_platform.logs import JsonFormatter
from switchboard_testing.builders import cloud_event

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.use_tracer_provider(provider)
    yield exporter
    telemetry.use_tracer_provider(None)


def finished(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    (span,) = [span for span in exporter.get_finished_spans() if span.name == name]
    return span


def hex_trace(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


def log_line(message: str = "something happened") -> dict[str, object]:
    record = logging.LogRecord("switchboard.test", logging.INFO, __file__, 1, message, (), None)
    parsed: dict[str, object] = json.loads(JsonFormatter("tests").format(record))
    return parsed


# -- configuration ----------------------------------------------------------------------------------------------


def test_tracing_is_off_unless_an_exporter_is_named() -> None:
    assert telemetry.configure_tracing("tests", {}) is False
    assert telemetry.configure_tracing("tests", {"OTEL_TRACES_EXPORTER": "none"}) is False
    assert (
        telemetry.configure_tracing("tests", {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"})
        is False
    )
    assert not telemetry.enabled()


def test_an_unknown_exporter_is_refused_naming_the_variable() -> None:
    with pytest.raises(
        telemetry.TelemetryConfigError, match="OTEL_TRACES_EXPORTER: unsupported exporter 'zipkin'"
    ):
        telemetry.configure_tracing("tests", {"OTEL_TRACES_EXPORTER": "zipkin"})


def test_otlp_over_grpc_is_refused_naming_the_variable() -> None:
    with pytest.raises(
        telemetry.TelemetryConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf"
    ):
        telemetry.configure_tracing(
            "tests", {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
        )
    assert not telemetry.enabled()


def test_every_variable_tracing_honours_is_one_opentelemetry_defines() -> None:
    # VARIABLES is what the deployment tests let compose and Kubernetes pass to a service: a misspelt name
    # there would be accepted and silently ignored.
    defined = {
        name
        for module in (otel_api_variables, otel_sdk_variables)
        for name in vars(module)
        if name.startswith("OTEL_")
    }
    assert telemetry.VARIABLES - defined == set()


def test_every_variable_the_module_reads_is_one_it_declares() -> None:
    read = set(re.findall(r'env\.get\("(OTEL_\w+)"', inspect.getsource(telemetry)))
    assert read, "the pattern no longer finds the variables configure_tracing reads"
    assert read - telemetry.VARIABLES == set()


# -- off: nothing allocated, nothing added -----------------------------------------------------------------------


def test_when_off_span_helpers_return_the_shared_no_op_and_records_carry_no_context() -> None:
    event = cloud_event()
    assert telemetry.http_request("POST", "https://example.com/hook") is telemetry.NOOP
    assert telemetry.publishing("topic", event) is telemetry.NOOP
    assert telemetry.consuming("fan-out", event, bind_logs=False) is telemetry.NOOP
    assert telemetry.processing_batch("batch", [event]) is telemetry.NOOP
    assert telemetry.traceparent() is None
    assert "traceparent" not in event.kafka_headers()


def test_when_off_a_context_that_arrived_is_passed_on_unchanged() -> None:
    arrived = CloudEvent.from_kafka(
        b"{}", [*cloud_event().kafka_header_list(), ("traceparent", TRACEPARENT.encode())]
    )
    assert arrived.traceparent == TRACEPARENT
    assert arrived.kafka_headers()["traceparent"] == TRACEPARENT


def test_when_off_log_lines_still_carry_the_unit_of_works_fields() -> None:
    event = cloud_event(tenant="acme")
    with telemetry.consuming("handle", event) as span:
        line = log_line()
    assert span is None
    assert (line["tenant"], line["event_id"]) == ("acme", event.id)
    assert "trace_id" not in line
    assert "tenant" not in log_line()


def test_when_off_a_delivery_attempt_binds_its_log_fields_and_opens_no_span() -> None:
    with telemetry.delivering(
        tenant="acme",
        event_id="e-1",
        delivery_id="msg_1",
        attempt=1,
        endpoint_kind="webhook",
        parent=TRACEPARENT,
        retry_of=None,
    ) as span:
        line = log_line()
    assert span is None
    assert (line["tenant"], line["event_id"], line["delivery_id"]) == ("acme", "e-1", "msg_1")


# -- the Kafka hop --------------------------------------------------------------------------------------------


def test_the_consumers_span_is_a_child_of_the_producers_across_record_headers(
    spans: InMemorySpanExporter,
) -> None:
    event = cloud_event()
    with telemetry.publishing("platform.events", event):
        headers = event.kafka_header_list()
    received = CloudEvent.from_kafka(event.kafka_value(), headers)
    with telemetry.consuming("handle", received):
        pass

    producer, consumer = finished(spans, "publish platform.events"), finished(spans, "handle")
    assert producer.kind is SpanKind.PRODUCER
    assert consumer.kind is SpanKind.CONSUMER
    assert consumer.parent is not None
    assert producer.context is not None
    assert consumer.parent.span_id == producer.context.span_id
    assert hex_trace(consumer) == hex_trace(producer)
    # Transport, not event: the context is in no envelope.
    assert "traceparent" not in received.structured()
    assert "traceparent" not in received.model_dump()


@pytest.mark.parametrize(
    "headers",
    [
        # Binary mode with the CloudEvents distributed-tracing extension instead of the W3C header.
        [*cloud_event().kafka_header_list(), ("ce_traceparent", TRACEPARENT.encode())],
        # Structured mode with the extension in the envelope.
        [("content-type", b"application/cloudevents+json")],
    ],
    ids=["binary-extension", "structured-extension"],
)
def test_the_cloudevents_tracing_extension_joins_its_trace(
    spans: InMemorySpanExporter, headers: list[tuple[str, bytes]]
) -> None:
    envelope = {**cloud_event().structured(), "traceparent": TRACEPARENT}
    received = CloudEvent.from_kafka(json.dumps(envelope).encode() if len(headers) == 1 else b"{}", headers)
    with telemetry.consuming("handle", received):
        pass
    assert hex_trace(finished(spans, "handle")) == TRACE_ID


def test_the_w3c_header_wins_over_the_extension() -> None:
    other = "00-11111111111111111111111111111111-2222222222222222-01"
    headers = [
        *cloud_event().kafka_header_list(),
        ("ce_traceparent", other.encode()),
        ("traceparent", TRACEPARENT.encode()),
    ]
    assert CloudEvent.from_kafka(b"{}", headers).traceparent == TRACEPARENT


# -- deliveries ------------------------------------------------------------------------------------------------


def test_a_retry_is_a_child_of_the_fan_out_linked_to_the_attempt_it_retries(
    spans: InMemorySpanExporter,
) -> None:
    attempt = {"tenant": "acme", "event_id": "e-1", "delivery_id": "msg_1", "endpoint_kind": "webhook"}
    with telemetry.consuming("fan-out", cloud_event(), bind_logs=False):
        parent = telemetry.traceparent()
    with telemetry.delivering(**attempt, attempt=1, parent=parent, retry_of=None):
        first = telemetry.traceparent()
        line = log_line()
    with telemetry.delivering(**attempt, attempt=2, parent=parent, retry_of=first):
        pass

    fan_out = finished(spans, "fan-out")
    # Finished in order: the first attempt, then its retry.
    one, two = [span for span in spans.get_finished_spans() if span.name == "deliver webhook"]
    assert fan_out.context is not None
    assert one.context is not None
    assert one.parent is not None
    assert two.parent is not None
    assert one.parent.span_id == two.parent.span_id == fan_out.context.span_id
    assert [link.context.span_id for link in two.links] == [one.context.span_id]
    assert line["delivery_id"] == "msg_1"
    assert line["tenant"] == "acme"
    assert line["trace_id"] == hex_trace(one)
    assert line["span_id"] == format(one.context.span_id, "016x")


def test_an_http_client_span_names_the_server_never_the_path(spans: InMemorySpanExporter) -> None:
    with telemetry.http_request(
        "POST", "https://hooks.example.com:8443/services/T0/B0/s3cr3t?token=x"
    ) as span:
        telemetry.record_status(span, 503)
    (client,) = spans.get_finished_spans()
    assert client.kind is SpanKind.CLIENT
    assert dict(client.attributes or {}) == {
        "http.request.method": "POST",
        "url.scheme": "https",
        "server.address": "hooks.example.com",
        "server.port": 8443,
        "http.response.status_code": 503,
    }


# -- HTTP in -----------------------------------------------------------------------------------------------------


async def test_a_request_span_is_named_by_its_route_template_and_continues_the_callers_trace(
    spans: InMemorySpanExporter,
) -> None:
    app = FastAPI()

    @app.post("/webhooks/{provider}/{token}")
    async def receive(provider: str, token: str, request: Request) -> dict[str, str]:
        return {"traceparent": telemetry.traceparent() or ""}

    app.add_middleware(telemetry.TracingMiddleware, skip=frozenset({"/healthz"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answer = await client.post(
            "/webhooks/chatwoot/path-token-secret", headers={"traceparent": TRACEPARENT}
        )
    assert answer.json()["traceparent"].split("-")[1] == TRACE_ID
    server = finished(spans, "POST /webhooks/{provider}/{token}")
    assert server.kind is SpanKind.SERVER
    assert hex_trace(server) == TRACE_ID
    assert "path-token-secret" not in json.dumps(dict(server.attributes or {}))
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 200
