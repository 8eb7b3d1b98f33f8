"""The OpenAPI document names the errors the plumbing answers with, in the shared error shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from switchboard_platform.openapi import document_errors, error_responses

ERROR_SHAPE = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]


class Thing(BaseModel):
    name: str


def _document(*, body_limit: bool) -> dict[str, Any]:
    app = FastAPI()

    @app.post("/things", responses=error_responses({409: "Exists"}))
    async def create(body: Thing, _: Bearer) -> None: ...

    @app.get("/things/{thing_id}")
    async def read(thing_id: str) -> None: ...

    @app.get("/healthz")
    async def healthz() -> None: ...

    document_errors(app, body_limit=body_limit)
    return app.openapi()


def test_a_body_route_taking_a_bearer_token_documents_400_401_413_and_its_own_errors() -> None:
    responses = _document(body_limit=True)["paths"]["/things"]["post"]["responses"]

    assert set(responses) == {"200", "400", "401", "409", "413", "422"}
    for code in ("400", "401", "413", "422"):
        assert responses[code]["content"] == ERROR_SHAPE, code


def test_413_is_documented_only_where_the_app_limits_bodies() -> None:
    responses = _document(body_limit=False)["paths"]["/things"]["post"]["responses"]

    assert "413" not in responses
    assert "400" in responses


def test_validation_errors_are_documented_in_the_error_shape_not_fastapis() -> None:
    document = _document(body_limit=True)

    assert document["paths"]["/things/{thing_id}"]["get"]["responses"]["422"]["content"] == ERROR_SHAPE
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert set(document["components"]["schemas"]["ErrorResponse"]["properties"]) == {"status", "error"}


def test_a_route_without_body_or_token_gains_nothing() -> None:
    assert set(_document(body_limit=True)["paths"]["/healthz"]["get"]["responses"]) == {"200"}


def test_the_document_is_amended_once() -> None:
    app = FastAPI()

    @app.post("/things")
    async def create(body: Thing) -> None: ...

    document_errors(app, body_limit=True)

    assert app.openapi() is app.openapi()
    assert set(app.openapi()["paths"]["/things"]["post"]["responses"]) == {"200", "400", "413", "422"}
