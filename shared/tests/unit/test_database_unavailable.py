"""A request that fails because MongoDB is unreachable is answered 503 with Retry-After, not 500."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from switchboard_platform.app import DATABASE_RETRY_AFTER_S, install_database_unavailable_handler
from switchboard_platform.http import install_error_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    install_database_unavailable_handler(app)

    @app.get("/down")
    async def down() -> None:
        raise ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused")

    @app.get("/refused")
    async def refused() -> None:
        raise OperationFailure("not authorized")

    return app


async def _get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_an_unreachable_database_is_503_with_retry_after() -> None:
    response = await _get("/down")

    assert response.status_code == 503
    assert response.headers["retry-after"] == str(DATABASE_RETRY_AFTER_S)
    assert response.json()["error"]["code"] == "database_unavailable"
    assert "27017" not in response.text  # the server's address stays in the log


async def test_other_database_errors_stay_internal_errors() -> None:
    response = await _get("/refused")

    assert response.status_code == 500
