"""Each service's OpenAPI document, built from its app factory at collection time (nothing connects).

The fuzz tests are parametrized from these documents, so an endpoint added to a service is attacked without
editing a test; ``test_openapi.py`` checks that each running service serves this same document.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from fastapi import FastAPI

from switchboard_ai_responder.main import create_app as ai_responder_app
from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_dispatcher.main import create_app as dispatcher_app
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_ingress.main import create_app as ingress_app
from switchboard_ingress.settings import IngressSettings
from switchboard_platform.settings import Environment
from switchboard_registry.main import create_app as registry_app
from switchboard_registry.settings import RegistrySettings

_FACTORIES: dict[str, Callable[[], FastAPI]] = {
    "registry": lambda: registry_app(RegistrySettings(environment=Environment.DEVELOPMENT)),
    "ingress": lambda: ingress_app(IngressSettings(environment=Environment.DEVELOPMENT)),
    "ai-responder": lambda: ai_responder_app(AiResponderSettings(environment=Environment.DEVELOPMENT)),
    "dispatcher": lambda: dispatcher_app(DispatcherSettings(environment=Environment.DEVELOPMENT)),
}
SERVICES = tuple(_FACTORIES)
WRITE_METHODS = ("post", "put", "patch", "delete")


@cache
def openapi_document(service: str) -> dict[str, Any]:
    return _FACTORIES[service]().openapi()


def write_operations(service: str) -> list[tuple[str, str, dict[str, Any]]]:
    """``(method, path, operation)`` of every operation that takes a request body: those documenting one, and
    every POST/PUT/PATCH of the ingress, whose routes read the raw body themselves (signatures are checked over
    the exact bytes) and so document none."""
    found = []
    for path, item in openapi_document(service)["paths"].items():
        for method, operation in item.items():
            takes_body = "requestBody" in operation or (service == "ingress" and method != "delete")
            if method in WRITE_METHODS and takes_body:
                found.append((method, path, operation))
    return found
