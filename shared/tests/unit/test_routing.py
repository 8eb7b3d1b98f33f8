"""A service app's routes answer as FastAPI's own routing would: flat, with fixed paths found by one lookup."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from faststream.kafka import KafkaBroker
from prometheus_client import generate_latest

from switchboard_platform.app import Runtime, build_service_app, mongo_client
from switchboard_platform.http import BoundedJsonRoute, Metrics, health_router, install_error_handlers
from switchboard_platform.routing import ExactPaths, include_routes
from switchboard_platform.settings import Environment, ServiceSettings


def _router() -> APIRouter:
    router = APIRouter(route_class=BoundedJsonRoute)

    @router.get("/things/{thing_id}")
    async def one(thing_id: str) -> dict[str, str]:
        return {"route": "one", "id": thing_id}

    # Declared after the parameterised route that also matches its path: the router never picks it for GET.
    @router.get("/things/special")
    async def special() -> dict[str, str]:
        return {"route": "special"}

    @router.post("/things/special", status_code=201)
    async def make_special() -> dict[str, str]:
        return {"route": "make_special"}

    @router.post("/events", status_code=202)
    async def events(request: Request) -> dict[str, str]:
        return {"route": "events", "path": request.url.path}

    @router.put("/events")
    async def replace_events() -> dict[str, str]:
        return {"route": "replace_events"}

    return router


def _service_app() -> tuple[FastAPI, Metrics]:
    settings = ServiceSettings(environment=Environment.TEST)
    metrics = Metrics("test")
    runtime = Runtime("test", settings, KafkaBroker(), mongo_client(settings, "test"), metrics)
    return build_service_app(runtime, title="t", description="d", routers=[_router()]), metrics


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app, _ = _service_app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_a_fixed_path_is_answered_by_its_route(client: httpx.AsyncClient) -> None:
    response = await client.post("/events")
    assert response.status_code == 202
    assert response.json() == {"route": "events", "path": "/events"}


async def test_a_route_declared_earlier_that_also_matches_the_path_still_wins(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/things/special")
    assert response.json() == {"route": "one", "id": "special"}


async def test_a_method_only_a_later_route_allows_reaches_it(client: httpx.AsyncClient) -> None:
    response = await client.post("/things/special")
    assert response.status_code == 201
    assert response.json() == {"route": "make_special"}


async def test_paths_with_parameters_are_routed(client: httpx.AsyncClient) -> None:
    response = await client.get("/things/42")
    assert response.json() == {"route": "one", "id": "42"}


async def test_a_method_the_path_does_not_allow_is_405_in_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.delete("/events")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"  # the first route of the path, as Starlette's router says
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_an_unknown_path_is_404_in_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/events/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_requests_are_counted_by_the_route_template() -> None:
    app, metrics = _service_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.post("/events")
        await client.get("/things/7")
    exposition = generate_latest(metrics.registry).decode()
    assert 'http_requests_total{method="POST",route="/events",status="202"} 1.0' in exposition
    assert 'http_requests_total{method="GET",route="/things/{thing_id}",status="200"} 1.0' in exposition


async def test_the_openapi_document_lists_every_route(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/healthz", "/things/{thing_id}", "/things/special", "/events"} <= set(paths)
    assert set(paths["/events"]) == {"post", "put"}


async def test_a_route_added_after_the_first_request_is_found() -> None:
    app = FastAPI()
    ExactPaths.install(app)
    include_routes(app, _router())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/events")).status_code == 202

        @app.get("/late")
        async def late() -> dict[str, str]:
            return {"route": "late"}

        assert (await client.get("/late")).json() == {"route": "late"}


async def test_under_a_root_path_the_path_is_matched_without_it() -> None:
    app = FastAPI()
    install_error_handlers(app)
    ExactPaths.install(app)
    include_routes(app, _router())
    # Mounted at /things, "/things/special" is the route path "/special", which no route serves.
    transport = httpx.ASGITransport(app=app, root_path="/things")
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/things/special")).status_code == 404
        assert (await client.post("/things/events")).status_code == 202


def test_a_router_with_start_up_handlers_is_refused() -> None:
    router = APIRouter(route_class=BoundedJsonRoute, on_startup=[lambda: None])
    with pytest.raises(TypeError, match="start-up"):
        include_routes(FastAPI(), router)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/events"),
        ("PUT", "/events"),
        ("GET", "/events"),
        ("DELETE", "/events"),
        ("POST", "/events/"),
        ("GET", "/things/special"),
        ("POST", "/things/special"),
        ("HEAD", "/things/special"),
        ("GET", "/things/9"),
        ("POST", "/things/9"),
        ("GET", "/nowhere"),
        ("GET", "/healthz"),
        ("HEAD", "/healthz"),
        ("POST", "/healthz"),
    ],
)
async def test_every_request_gets_the_answer_fastapis_own_routing_gives(method: str, path: str) -> None:
    def build(flat: bool) -> FastAPI:
        app = FastAPI()
        install_error_handlers(app)
        if flat:
            ExactPaths.install(app)
            include_routes(app, health_router({}, Metrics("test")))
            include_routes(app, _router())
        else:
            app.include_router(health_router({}, Metrics("test")))
            app.include_router(_router())
        return app

    answers = []
    for flat in (False, True):
        transport = httpx.ASGITransport(app=build(flat))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.request(method, path)
        answers.append(
            (
                response.status_code,
                response.headers.get("allow"),
                response.headers.get("location"),
                response.content,
            )
        )
    assert answers[0] == answers[1]
