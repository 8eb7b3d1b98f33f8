from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from switchboard_shared.http import ApiError, BodySizeLimit, Metrics, health_router, install_error_handlers
from switchboard_shared.loop_lag import EventLoopLag


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


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert 'http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in response.text


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
