"""FastAPI dependencies: the composition root's objects, typed, and authentication.

The management API names the tenant in its path. A tenant calls it with one of its registry API keys (checked
against the registry's published digests, ``switchboard_platform.api_keys``) carrying ``responder:read`` or
``responder:write`` (or ``*``); an operator may use ``SB_AI_RESPONDER_ADMIN_TOKEN`` for any tenant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from switchboard_ai_responder.adapters.articles import ArticleStore
from switchboard_ai_responder.retrieval import Retrieval
from switchboard_ai_responder.service import Operations, Stores
from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_contracts.signing import constant_time_equal
from switchboard_platform.api_keys import ApiKeyView, Scope, grants
from switchboard_platform.http import ApiError, ApiWarning, success_body
from switchboard_platform.netsafety import Resolver
from switchboard_platform.openapi import error_responses


@dataclass
class Services:
    settings: AiResponderSettings
    stores: Stores
    operations: Operations
    retrieval: Retrieval
    resolver: Resolver
    api_keys: ApiKeyView

    @property
    def articles(self) -> ArticleStore:
        return self.stores.articles


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]
_bearer = HTTPBearer(
    auto_error=False, description="A tenant's registry API key (sbk_...), or the operator token"
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _unauthorized() -> ApiError:
    return ApiError(
        401, "unauthorized", "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
    )


def tenant_access(scope: Scope) -> Callable[..., Awaitable[str]]:
    """A dependency admitting the operator token, or a live API key of the path's tenant that grants ``scope``.
    Returns who is calling (``admin`` or ``key:<id>``). Another tenant's key gets 404 (tenants do not learn
    of each other), a key without the scope 403."""

    async def dependency(tenant_id: str, services: ServicesDep, credentials: BearerDep) -> str:
        if credentials is None:
            raise _unauthorized()
        token = credentials.credentials
        expected = services.settings.admin_token.get_secret_value()
        if constant_time_equal(token, expected):
            return "admin"
        holder = services.api_keys.holder(token)
        if holder is None:
            raise _unauthorized()
        if holder.tenant_id != tenant_id:
            raise ApiError(404, "not_found", "tenant not found")
        if not grants(holder.scopes, scope):
            raise ApiError(403, "forbidden", f"this API key lacks the {scope.value} scope")
        return f"key:{holder.key_id}"

    return dependency


ReadAccess = Annotated[str, Depends(tenant_access(Scope.RESPONDER_READ))]
#: ``responses=`` of every router under ``/api/tenants/{tenant_id}``: what ``tenant_access`` refuses with
#: (401 is documented for every operation that takes a bearer token), and the tenant's missing resources.
TENANT_ERRORS = error_responses(
    {403: "The API key lacks the responder scope", 404: "No such tenant for this key, or no such resource"}
)
CONFLICT = error_responses({409: "The conversation or review is not in a state that allows this"})
WriteAccess = Annotated[str, Depends(tenant_access(Scope.RESPONDER_WRITE))]


def envelope(data: object, warnings: Sequence[ApiWarning] = ()) -> dict[str, object]:
    return success_body(data, warnings=warnings)
