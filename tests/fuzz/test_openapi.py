"""schemathesis over every service's OpenAPI document, as a tenant (its API key) and as the operator.

Each case goes over loopback to the running services and must get no 5xx, a status code the document declares,
the declared content type and a body matching the declared schema. Generation is derandomized with a fixed seed,
so a run is reproducible; ``SB_FUZZ_EXAMPLES`` scales it (``make fuzz``), and the session prints the counts.

The documents are built at collection time (``documents.py``) so that pytest lists one test per operation;
``test_serves_the_document_fuzzed`` holds each running service to the same document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import APIOperation
from schemathesis import Case as AnyCase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import Tally, World, fuzz_examples, fuzz_phases
from .documents import SERVICES, openapi_document

Case = AnyCase[APIOperation[Any, Any, Any, Any]]
SEED = 20261205
#: uvicorn's answer to bytes that are not a valid HTTP request (llhttp refused them, e.g. a Transfer-Encoding of
#: random text): the request never reached the service, so no operation's document can describe the answer.
#: Negative generation makes such requests now and then; they must still not get a 5xx.
NOT_HTTP = (400, b"Invalid HTTP request received.")
Check = Callable[[Any, Any, Case], bool | None]


def _for_the_service(check: Check) -> Check:
    """``check``, for answers the service gave (not the HTTP server's refusal of a malformed request)."""

    def checked(ctx: Any, response: Any, case: Case) -> bool | None:
        if (response.status_code, response.content) == NOT_HTTP:
            return None
        return check(ctx, response, case)

    checked.__name__ = check.__name__  # schemathesis names a failing check by its function
    return checked


CHECKS = [
    not_a_server_error,
    *map(_for_the_service, (status_code_conformance, content_type_conformance, response_schema_conformance)),
]
CONFIG = {
    "seed": SEED,
    "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    # Reproducible from the seed alone: no example database or crash cache carried between runs.
    "generation": {"max-examples": fuzz_examples(), "deterministic": True, "mode": "all", "database": "none"},
    "cache": {"enabled": False},
    "phases": {
        "examples": {"enabled": "examples" in fuzz_phases()},
        "coverage": {"enabled": "coverage" in fuzz_phases()},
        "fuzzing": {"enabled": "fuzzing" in fuzz_phases()},
        "stateful": {"enabled": False},
    },
    "request-timeout": 30,
}

schemas = schemathesis.pytest.parametrize(
    **{
        service.replace("-", "_"): schemathesis.openapi.from_dict(
            openapi_document(service), config=schemathesis.Config.from_dict(CONFIG)
        )
        for service in SERVICES
    }
)


def _service(case: Case) -> str:
    return str(case.operation.schema.raw_schema["info"]["title"]).removeprefix("Switchboard ")


def _send(case: Case, world: World, tally: Tally, role: str) -> None:
    service = _service(case)
    run = f"{service} as {role}"
    # The tenant's own id where a path names one, so cases get past "not found" to the handlers.
    for name, value in world.path_values().items():
        if name in case.path_parameters:
            case.path_parameters[name] = value
    tally.sent(run, case.operation.label)
    try:
        case.call_and_validate(
            base_url=world.url(service),
            headers={"Authorization": f"Bearer {world.token(service, role)}"},
            checks=CHECKS,
        )
    except (Exception, BaseExceptionGroup):  # schemathesis reports several failures as one FailureGroup
        tally.failed(run, case.operation.label)
        raise


@schemas
def test_as_a_tenant(case: Case, world: World, tally: Tally) -> None:
    _send(case, world, tally, "tenant")


@schemas
def test_as_the_operator(case: Case, world: World, tally: Tally) -> None:
    _send(case, world, tally, "operator")


@pytest.mark.parametrize("service", SERVICES)
async def test_serves_the_document_fuzzed(service: str, world: World) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        served = (await http.get(f"{world.url(service)}/openapi.json")).json()
    assert served == openapi_document(service)
