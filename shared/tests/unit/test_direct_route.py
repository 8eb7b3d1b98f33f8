"""A DirectRoute endpoint gets the request and sends its response; errors keep their handlers and shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from switchboard_contracts import strict_json
from switchboard_platform.http import ApiError, BodySizeLimit, DirectRoute, install_error_handlers
from switchboard_platform.routing import ExactPaths, include_routes


def _app() -> FastAPI:
    router = APIRouter(route_class=DirectRoute)

    @router.post("/echo", status_code=201, summary="Echo the JSON body")
    async def echo(request: Request) -> JSONResponse:
        try:
            return JSONResponse({"got": await request.json()}, 201)
        except strict_json.InvalidJson:
            raise ApiError(400, "invalid_json", "not JSON") from None

    @router.post("/refuse")
    async def refuse(request: Request) -> Response:
        raise ApiError(409, "conflict", "already there", field="name", headers={"Retry-After": "3"})

    @router.post("/boom")
    async def boom(request: Request) -> Response:
        raise RuntimeError("internal detail")

    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=64)
    ExactPaths.install(app)
    include_routes(app, router)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_the_endpoint_answers_with_its_own_response(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", json={"a": 1})
    assert response.status_code == 201
    assert response.json() == {"got": {"a": 1}}


async def test_the_body_is_decoded_by_the_bounded_decoder(client: httpx.AsyncClient) -> None:
    # strict_json refuses NaN, which json.loads accepts.
    response = await client.post("/echo", content=b"NaN", headers={"content-type": "application/json"})
    assert response.status_code == 400


async def test_an_api_error_keeps_its_status_shape_and_headers(client: httpx.AsyncClient) -> None:
    response = await client.post("/refuse")
    assert response.status_code == 409
    assert response.headers["retry-after"] == "3"
    assert response.json() == {
        "status": "error",
        "error": {"code": "conflict", "message": "already there", "field": "name"},
    }


async def test_an_unexpected_error_is_a_500_without_its_details(client: httpx.AsyncClient) -> None:
    response = await client.post("/boom")
    assert response.status_code == 500
    assert "internal detail" not in response.text
    assert response.json()["error"]["code"] == "internal_error"


async def test_the_body_limit_still_applies(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", json={"text": "x" * 100})
    assert response.status_code == 413


async def test_the_route_is_documented_with_its_declared_status(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"]["/echo"]["post"]
    assert operation["summary"] == "Echo the JSON body"
    assert "201" in operation["responses"]


async def _needs(request: Request) -> str:
    return "x"


async def _two(request: Request, extra: str) -> Response:
    return Response()


async def _returns_dict(request: Request) -> dict[str, Any]:
    return {}


def _plain(request: Request) -> Response:
    return Response()


@pytest.mark.parametrize("endpoint", [_two, _returns_dict, _plain], ids=["two-params", "dict", "sync"])
def test_an_endpoint_of_another_shape_is_refused_when_declared(endpoint: Any) -> None:
    router = APIRouter(route_class=DirectRoute)
    with pytest.raises(TypeError, match="DirectRoute /x"):
        router.add_api_route("/x", endpoint, methods=["POST"])


def test_a_route_with_dependencies_is_refused_when_declared() -> None:
    async def endpoint(request: Request) -> Response:
        return Response()

    router = APIRouter(route_class=DirectRoute, dependencies=[Depends(_needs)])
    with pytest.raises(TypeError, match="no dependencies"):
        router.add_api_route("/x", endpoint, methods=["POST"])
