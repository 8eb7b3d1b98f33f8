from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry, Gauge
from pydantic import BaseModel

from switchboard_platform.app import Runtime, build_service_app, mongo_client
from switchboard_platform.http import (
    ApiError,
    BodySizeLimit,
    BoundedJsonRoute,
    Metrics,
    health_router,
    install_error_handlers,
)
from switchboard_platform.loop_lag import EventLoopLag
from switchboard_platform.settings import Environment, ServiceSettings


class Thing(BaseModel):
    name: str
    size: int


async def _ok() -> bool:
    return True


async def _down() -> bool:
    raise ConnectionError("refused")


def _app(probes: dict[str, object]) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    metrics = Metrics("test")
    metrics.install(app)
    app.include_router(health_router(probes, metrics))  # type: ignore[arg-type]

    @app.post("/things")
    async def create(thing: Thing) -> Thing:
        return thing

    @app.get("/conflict")
    async def conflict() -> None:
        raise ApiError(409, "conflict", "already exists", field="name")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret-ish internal detail")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app({"dep": _ok}), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/things", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


async def test_schema_error_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"name": "x", "size": "big"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "size"
    assert response.json()["status"] == "error"


async def test_api_errors_keep_their_code_and_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/conflict")
    assert response.status_code == 409
    assert response.json() == {
        "status": "error",
        "error": {"code": "conflict", "message": "already exists", "field": "name"},
    }


async def test_unknown_route_is_404_in_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_unexpected_errors_hide_their_details(client: httpx.AsyncClient) -> None:
    response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "status": "error",
        "error": {"code": "internal_error", "message": "internal error"},
    }


async def test_readyz_reports_each_dependency() -> None:
    app = _app({"kafka": _ok, "mongodb": _down})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"kafka": "ok", "mongodb": "error: ConnectionError"},
    }


async def test_every_scrape_asks_each_dependency_whether_it_answers() -> None:
    app = _app({"kafka": _ok, "mongodb": _down})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        text = (await client.get("/metrics")).text
    assert 'dependency_up{dependency="kafka"} 1.0' in text
    assert 'dependency_up{dependency="mongodb"} 0.0' in text


async def test_gauges_are_refreshed_before_a_scrape_and_a_failing_refresh_does_not_fail_it() -> None:
    metrics = Metrics("test")
    pending = Gauge("pending", "pending", registry=metrics.registry)

    async def count() -> None:
        pending.set(7)

    async def broken() -> None:
        raise ConnectionError("MongoDB is down")

    metrics.before_scrape.extend([count, broken])
    app = FastAPI()
    app.include_router(health_router({}, metrics))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert "pending 7.0" in response.text


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert 'http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in response.text


async def test_each_method_route_and_status_is_counted_and_timed_apart(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        await client.post("/things", json={"name": "x", "size": 1})
    await client.post("/things", json={"name": "x"})
    await client.get("/nowhere")
    text = (await client.get("/metrics")).text
    assert 'http_requests_total{method="POST",route="/things",status="200"} 2.0' in text
    assert 'http_requests_total{method="POST",route="/things",status="422"} 1.0' in text
    assert 'http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'http_request_duration_seconds_count{method="POST",route="/things"} 3.0' in text


def _limited_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo")
    async def echo(thing: Thing) -> Thing:
        return thing

    app.add_middleware(BodySizeLimit, limit=64)
    return app


async def test_body_over_the_limit_is_413_by_content_length() -> None:
    transport = httpx.ASGITransport(app=_limited_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/echo", json={"name": "x" * 100, "size": 1})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_streamed_body_over_the_limit_is_413() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b'{"name": "xxxxxxxxxxxxxxxxxxxx"'

    transport = httpx.ASGITransport(app=_limited_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


async def test_body_within_the_limit_passes() -> None:
    transport = httpx.ASGITransport(app=_limited_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/echo", json={"name": "x", "size": 1})
    assert response.status_code == 200


# -- JSON bodies FastAPI decodes: the shared bounded decoder ----------------------------------------------------------


class Settings_(BaseModel):
    config: dict[str, Any]


def _json_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter(route_class=BoundedJsonRoute)

    @router.put("/config")
    async def put_config(body: Settings_) -> Settings_:
        return body

    app.include_router(router)
    return app


@pytest.mark.parametrize(
    "body",
    [
        # Deep enough to decode under json.loads and then overflow the response serializer: a 500 before.
        b'{"config": {"a": ' + b"[" * 500 + b"]" * 500 + b"}}",
        b'{"config": {"a": ' + b"[" * 1000 + b"]" * 1000 + b"}}",
        b'{"config": {"a": "\\ud800"}}',
        b'{"config": {"a": NaN}}',
        b'{"config": {"a": 1e400}}',
    ],
    ids=["500 levels", "1000 levels", "unpaired surrogate", "NaN", "overflowing float"],
)
async def test_bodies_fastapi_decodes_go_through_the_bounded_decoder(body: bytes) -> None:
    transport = httpx.ASGITransport(app=_json_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.put("/config", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_json"


def test_a_service_app_refuses_a_router_without_the_bounded_decoder() -> None:
    settings = ServiceSettings(environment=Environment.TEST)
    runtime = Runtime("test", settings, KafkaBroker(), mongo_client(settings, "test"), Metrics("test"))
    with pytest.raises(TypeError, match="BoundedJsonRoute"):
        build_service_app(runtime, title="t", description="d", routers=[APIRouter(prefix="/plain")])


class _Upload:
    """An ASGI ``receive`` handing out ``chunks`` of the request body; counts how many were read."""

    def __init__(self, chunks: int, size: int, endless: bool = False) -> None:
        self.chunks, self.size, self.endless, self.read = chunks, size, endless, 0

    async def __call__(self) -> dict[str, object]:
        self.read += 1
        more = self.endless or self.read < self.chunks
        return {"type": "http.request", "body": b"x" * self.size, "more_body": more}


async def _refused(upload: _Upload, headers: list[tuple[bytes, bytes]]) -> list[dict[str, object]]:
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/echo", "headers": headers}
    await BodySizeLimit(_limited_app(), limit=64)(scope, upload, send)
    return sent


async def test_a_refused_stream_is_read_to_its_end_before_the_413_so_the_answer_is_not_lost_to_a_reset() -> (
    None
):
    upload = _Upload(chunks=40, size=32)

    sent = await _refused(upload, [(b"content-type", b"application/json")])

    assert upload.read == 40
    assert sent[0]["status"] == 413


async def test_a_body_refused_by_its_content_length_is_read_too() -> None:
    upload = _Upload(chunks=4, size=50)

    sent = await _refused(upload, [(b"content-length", b"200")])

    assert upload.read == 4
    assert sent[0]["status"] == 413


async def test_a_small_content_length_beside_a_transfer_encoding_does_not_lift_the_limit() -> None:
    # With both headers the chunked encoding frames the body (RFC 9112 6.3), so the length proves nothing.
    upload = _Upload(chunks=4, size=32)

    sent = await _refused(upload, [(b"content-length", b"10"), (b"transfer-encoding", b"chunked")])

    assert sent[0]["status"] == 413


async def test_what_is_read_of_a_refused_body_is_capped() -> None:
    upload = _Upload(chunks=0, size=64 * 1024, endless=True)

    sent = await _refused(upload, [(b"content-type", b"application/json")])

    assert upload.read <= BodySizeLimit.DRAIN_BYTES // (64 * 1024) + 2
    assert sent[0]["status"] == 413


def test_event_loop_lag_is_the_probes_oversleep_and_the_gauge_keeps_the_recent_maximum() -> None:
    now = [100.0]
    registry = CollectorRegistry()
    lag = EventLoopLag(registry, interval_s=0.25, window_s=2.0, clock=lambda: now[0])
    lag._last = now[0]  # as start() does
    for step in (0.25, 0.75, 0.26):  # on time, 0.5 s late (a blocked loop), 0.01 s late
        now[0] += step
        asyncio.run(lag.tick())
    assert registry.get_sample_value("event_loop_lag_seconds_count") == 3
    assert registry.get_sample_value("event_loop_lag_seconds_sum") == pytest.approx(0.51)
    assert registry.get_sample_value("event_loop_lag_max_seconds") == pytest.approx(0.5)
    now[0] += 1.9  # the 0.5 s stall leaves the 2 s window; the 0.01 s one is still in it
    assert registry.get_sample_value("event_loop_lag_max_seconds") == pytest.approx(0.01)
    now[0] += 1.0
    assert registry.get_sample_value("event_loop_lag_max_seconds") == 0.0


async def test_metrics_export_the_event_loop_lag(client: httpx.AsyncClient) -> None:
    text = (await client.get("/metrics")).text
    assert "event_loop_lag_seconds_bucket" in text
    assert "event_loop_lag_max_seconds" in text
