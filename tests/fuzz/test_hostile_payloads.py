"""The hostile-payload corpus against every operation that takes a request body, in every service.

The operations come from the services' OpenAPI documents (``documents.write_operations``), so a new endpoint is
attacked without editing this file. Each request is authenticated as far as the route allows (the tenant's API
key, the operator token on ``/api/admin``, the integration's bearer token or ``?integration=`` at the ingress)
and names the tenant's own resources, so it reaches body parsing rather than stopping at 401 or 404. Every
answer must be a 4xx in the error shape's spirit — never a 5xx, never a dropped connection.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from .conftest import ADMIN_TOKEN, EVENTS_TOKEN, INTEGRATION_BEARER, UNKNOWN_ID, World
from .documents import SERVICES, openapi_document, write_operations

#: Fields for operations that document no body schema (the ingress reads raw JSON itself).
GENERIC_FIELDS = ("message", "text", "name", "event", "data", "type", "specversion", "id", "source")
BODY_LIMIT = 64 * 1024  # the largest limit of any service (registry); every service refuses beyond it


@dataclass(frozen=True)
class Payload:
    body: bytes | AsyncIterator[bytes]
    content_type: str | None = "application/json"


def _fields(operation: dict[str, Any], components: dict[str, Any]) -> list[str]:
    """The top-level fields the operation's body schema names (so each hostile value meets a real field)."""
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref:
        schema = components.get(ref.rsplit("/", 1)[-1], {})
    return list(schema.get("properties", {})) or list(GENERIC_FIELDS)


def _object(fields: list[str], raw_value: str) -> bytes:
    """``{"field": <raw_value>, ...}`` for every field, with the value written verbatim (it may not be JSON
    Python can produce, like ``1e400``)."""
    return ("{" + ", ".join(f"{json.dumps(name)}: {raw_value}" for name in fields) + "}").encode()


async def _chunks(total: int, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    """A JSON body of ``total`` bytes sent with Transfer-Encoding: chunked (no Content-Length to judge by)."""
    sent = 0
    yield b'{"data": "'
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


def payloads(fields: list[str]) -> dict[str, Payload]:
    nested = "[" * 1000 + "]" * 1000
    return {
        "deep_nesting": Payload(nested.encode()),
        "deep_nesting_in_fields": Payload(_object(fields, nested)),
        "huge_float": Payload(_object(fields, "1e400")),
        "huge_integer": Payload(_object(fields, "1" + "0" * 5000)),
        "invalid_utf8": Payload(_object(fields, '"INVALID"').replace(b"INVALID", b"\xff\xfe")),
        "nul_byte_raw": Payload(_object(fields, '"a\x00b"')),
        "nul_escaped": Payload(_object(fields, '"a\\u0000b"')),
        "lone_surrogate": Payload(_object(fields, '"\\ud800"')),
        "lone_surrogate_first_field": Payload(_object(fields[:1], '"\\ud800"')),
        "very_long_string": Payload(_object(fields[:1], json.dumps("x" * 9_000))),
        "text_plain": Payload(_object(fields, '"x"'), "text/plain"),
        "form_encoded": Payload(
            b"name=x&message=y&url=https%3A%2F%2Fexample.com", "application/x-www-form-urlencoded"
        ),
        "no_content_type": Payload(_object(fields, '"x"'), None),
        "empty_body": Payload(b""),
        "json_array": Payload(b"[1, 2, 3]"),
        "json_string": Payload(b'"a string"'),
        "json_null": Payload(b"null"),
        "oversize_declared": Payload(b'{"data": "' + b"x" * (BODY_LIMIT + 1024) + b'"}'),
        # Within what BodySizeLimit reads of a refused body (1 MiB), so the 413 must arrive, not a reset.
        "oversize_chunked": Payload(_chunks(BODY_LIMIT * 8)),
    }


def _cases() -> Iterator[Any]:
    for service in SERVICES:
        components = openapi_document(service).get("components", {}).get("schemas", {})
        for method, path, operation in write_operations(service):
            fields = _fields(operation, components)
            for kind in payloads(fields):
                yield pytest.param(
                    service,
                    method,
                    path,
                    kind,
                    fields,
                    id=f"{service} {method.upper()} {path} {kind}",
                )


def _request(
    world: World, service: str, method: str, path: str
) -> tuple[str, dict[str, str], dict[str, str]]:
    """URL, headers and query that authenticate the request as far as this route allows."""
    values = {**world.path_values(), "provider": "zendesk", "path_token": "x"}
    concrete = re.sub(r"\{(\w+)\}", lambda match: values.get(match.group(1), UNKNOWN_ID), path)
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    if service == "ingress":
        if path == "/v1/events":
            headers["Authorization"] = f"Bearer {EVENTS_TOKEN}"
        elif path.startswith("/api/"):
            headers["Authorization"] = f"Bearer {INTEGRATION_BEARER}"
        else:
            query["integration"] = world.integration_id
    elif path.startswith("/api/admin"):
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    else:
        headers["Authorization"] = f"Bearer {world.api_key}"
    return f"{world.url(service)}{concrete}", headers, query


@pytest.mark.parametrize(("service", "method", "path", "kind", "fields"), list(_cases()))
async def test_hostile_body_gets_a_4xx(
    service: str, method: str, path: str, kind: str, fields: list[str], world: World
) -> None:
    url, headers, query = _request(world, service, method, path)
    payload = payloads(fields)[kind]
    if payload.content_type is not None:
        headers["Content-Type"] = payload.content_type
    async with httpx.AsyncClient(timeout=30) as http:
        # A dropped connection raises here (httpx.RemoteProtocolError), failing the test.
        response = await http.request(
            method.upper(), url, headers=headers, params=query, content=payload.body
        )
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
