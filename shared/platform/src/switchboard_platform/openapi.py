"""What every service's OpenAPI document says about errors: the shared error shape and the error answers that
come from the plumbing rather than from a route.

A route declares the errors its own logic raises (403, 404, 409 …). The errors every route of a kind can answer
with because of what ``build_service_app`` installs are added here, so a new route is documented without
repeating them: 400 when a request body is not JSON (or not UTF-8), 413 above the body limit, 401 on an operation
that takes a bearer token, and 422 in our error shape instead of FastAPI's default schema, which we never send.
Clients and the schemathesis run (``tests/fuzz``) hold the services to these documents.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field

_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code", examples=["validation_error"])
    message: str = Field(description="What is wrong, for a human", examples=["timeout_seconds: too large"])
    field: str | None = Field(default=None, description="The offending request field, dotted")


class ErrorResponse(BaseModel):
    status: Literal["error"] = "error"
    error: ErrorDetail


def error_responses(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route (or router) answering with these error codes, in the shared error shape."""
    return {code: {"model": ErrorResponse, "description": text} for code, text in descriptions.items()}


def document_errors(app: FastAPI, *, body_limit: bool) -> None:
    """Make ``app``'s OpenAPI document name the error answers its plumbing gives (see the module docstring);
    ``body_limit`` says whether the app refuses large bodies with 413."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        amend = app.openapi_schema is None
        document = build()
        if amend:
            _amend(document, body_limit=body_limit)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _amend(document: dict[str, Any], *, body_limit: bool) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    shape = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in shape.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault(ErrorResponse.__name__, shape)
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}}}

    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _METHODS:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            plumbing: dict[str, str] = {}
            if "requestBody" in operation:
                plumbing["400"] = "The request body is not JSON (or not UTF-8)"
                if body_limit:
                    plumbing["413"] = "Request body too large"
            if operation.get("security"):
                plumbing["401"] = "Missing or invalid bearer token"
            for code, description in plumbing.items():
                responses.setdefault(code, {"description": description, "content": content})
            validation = responses.get("422")
            if validation is not None and _is_fastapi_default(validation):
                validation["content"] = content
    if "/HTTPValidationError" not in json.dumps(document.get("paths", {})):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)


def _is_fastapi_default(response: Mapping[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))
