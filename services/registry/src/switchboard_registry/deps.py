"""FastAPI dependencies: typed access to the composition root's objects, authentication and scopes.

Tenant isolation starts here: every tenant-scoped route receives a ``Principal`` and passes its
``tenant_id`` into every query, so another tenant's resource is simply not found (404, never 403).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from faststream.kafka.publisher import DefaultPublisher

from switchboard_contracts.signing import constant_time_equal
from switchboard_platform.http import ApiError
from switchboard_platform.netsafety import AddressPolicy, Resolver
from switchboard_platform.secrets_box import SecretsBox
from switchboard_registry.adapters.tenants import Principal, TenantStore
from switchboard_registry.adapters.webhooks import WebhookStore
from switchboard_registry.domain.keys import Scope, grants
from switchboard_registry.settings import RegistrySettings


@dataclass
class Services:
    """What routes need, built once by ``create_app``; tests may replace the resolver."""

    settings: RegistrySettings
    tenants: TenantStore
    box: SecretsBox
    resolver: Resolver

    def address_policy(self, development_mode: bool) -> AddressPolicy:
        """What a tenant's endpoint URLs may target. Loopback only for development tenants, and only where the
        operator switched it on (``SB_REGISTRY_ALLOW_LOOPBACK_URLS``, which production refuses at start-up):
        on a development installation a developer's own tenant may point a webhook at their machine, while
        the other tenants of the same installation still may not reach its loopback services."""
        return AddressPolicy(
            allow_loopback=self.settings.allow_loopback_urls and development_mode,
            allow_private=self.settings.allow_private_urls,
        )


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]


def _webhooks(request: Request) -> WebhookStore:
    store: WebhookStore = request.app.state.webhooks
    return store


def _commands(request: Request) -> DefaultPublisher:
    publisher: DefaultPublisher = request.app.state.commands
    return publisher


WebhooksDep = Annotated[WebhookStore, Depends(_webhooks)]
#: The dispatcher-commands publisher (send test, redeliver, recover).
CommandsDep = Annotated[DefaultPublisher, Depends(_commands)]
_bearer = HTTPBearer(auto_error=False, description="An API key (sbk_…) or, for /api/admin, the admin token")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _unauthorized(message: str = "missing or invalid bearer token") -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


async def require_admin(services: ServicesDep, credentials: BearerDep) -> None:
    expected = services.settings.admin_token.get_secret_value()
    if credentials is None or not constant_time_equal(credentials.credentials, expected):
        raise _unauthorized()


async def current_principal(services: ServicesDep, credentials: BearerDep) -> Principal:
    if credentials is None:
        raise _unauthorized()
    principal = await services.tenants.authenticate(credentials.credentials)
    if principal is None:
        raise _unauthorized()
    return principal


def scoped(scope: Scope) -> Callable[..., object]:
    """A dependency yielding the caller's principal when its key grants ``scope`` (403 otherwise: the caller
    is authenticated and the resource's existence is not what is being refused)."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not grants(principal.scopes, scope):
            raise ApiError(403, "forbidden", f"this API key lacks the {scope.value} scope")
        return principal

    return dependency


AdminDep = Annotated[None, Depends(require_admin)]
WebhooksRead = Annotated[Principal, Depends(scoped(Scope.WEBHOOKS_READ))]
WebhooksWrite = Annotated[Principal, Depends(scoped(Scope.WEBHOOKS_WRITE))]
IntegrationsRead = Annotated[Principal, Depends(scoped(Scope.INTEGRATIONS_READ))]
IntegrationsWrite = Annotated[Principal, Depends(scoped(Scope.INTEGRATIONS_WRITE))]
ConversationsRead = Annotated[Principal, Depends(scoped(Scope.CONVERSATIONS_READ))]
ConversationsWrite = Annotated[Principal, Depends(scoped(Scope.CONVERSATIONS_WRITE))]
DeliveriesRead = Annotated[Principal, Depends(scoped(Scope.DELIVERIES_READ))]
DeliveriesWrite = Annotated[Principal, Depends(scoped(Scope.DELIVERIES_WRITE))]
