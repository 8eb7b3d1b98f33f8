"""``/api/webhook/config``: partner integrations at seed 002's path (GET list, POST create, GET/PUT/DELETE one).

The request and response models depend on the registered partners (``rules.integration_models()``), so the
routes are built by ``build_router`` when the app is, each endpoint's annotations set to the built models before
FastAPI reads them. What each route does is a module-level function (``create_integration``…), which the
console's pages call too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status

from switchboard_platform.http import ApiError, ApiWarning, BoundedJsonRoute
from switchboard_registry.adapters.integrations import IntegrationStore, TokenInUse
from switchboard_registry.adapters.tenants import Principal
from switchboard_registry.api import crud
from switchboard_registry.api.envelopes import Deleted, Envelope, Page, PageNumber, PerPage, errors
from switchboard_registry.deps import IntegrationsRead, IntegrationsWrite, Services, ServicesDep
from switchboard_registry.domain import integrations as rules
from switchboard_registry.domain.patch import sent_fields
from switchboard_registry.domain.urls import check_endpoint_url


def _store(request: Request) -> IntegrationStore:
    store: IntegrationStore = request.app.state.integrations
    return store


StoreDep = Annotated[IntegrationStore, Depends(_store)]
IntegrationId = Annotated[str, Path(description="The integration id (24 hex characters)")]
INTEGRATIONS = crud.Resource("integration", rules.public)


def _in_use(exc: TokenInUse) -> ApiError:
    return ApiError(
        409, "conflict", "another integration already uses this token; choose another", field=exc.field
    )


async def _check_urls(
    config: rules.IntegrationCreate,
    principal: Principal,
    services: Services,
    before: dict[str, str] | None = None,
) -> list[ApiWarning]:
    """The address policy for every URL the dispatcher will call; on update only URLs that changed (a URL
    accepted earlier stays valid even if the tenant has left development mode since). Returns the warnings."""
    warnings: list[ApiWarning] = []
    for field, url in rules.endpoint_urls(config).items():
        if before is not None and before.get(field) == url:
            continue
        checked = await check_endpoint_url(
            url,
            field=field,
            development_mode=principal.development_mode,
            policy=services.address_policy(principal.development_mode),
            resolver=services.resolver,
        )
        warnings.extend(checked.warnings)
    return warnings


def _typed(endpoint: Callable[..., Any], **annotations: Any) -> None:
    """Give ``endpoint`` the built models as annotations (FastAPI validates and documents with these)."""
    endpoint.__annotations__.update(annotations)


# -- what the routes do, callable by the console too (it passes the store and the principal itself) ------------


async def create_integration(
    body: rules.IntegrationCreate, principal: Principal, services: Services, store: IntegrationStore
) -> Envelope[rules.IntegrationPublic]:
    with crud.invalid_config_is_422():
        rules.check(body)
    warnings = await _check_urls(body, principal, services)
    fields, digests = rules.sealed(body, services.box)
    try:
        document = await store.create(principal.tenant_id, principal.key_id, fields, digests)
    except TokenInUse as exc:
        raise _in_use(exc) from None
    return INTEGRATIONS.envelope(document, services.box, warnings)


async def list_integrations(
    principal: Principal,
    services: Services,
    store: IntegrationStore,
    provider: str | None = None,
    is_active: bool | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page[rules.IntegrationPublic]:
    filters = crud.filters(provider=provider, is_active=is_active)
    return await INTEGRATIONS.page(store, principal.tenant_id, page, per_page, filters, services.box)


async def get_integration(
    integration_id: str, principal: Principal, services: Services, store: IntegrationStore
) -> Envelope[rules.IntegrationPublic]:
    return await INTEGRATIONS.get(store, principal.tenant_id, integration_id, services.box)


async def update_integration(
    integration_id: str,
    body: rules.IntegrationUpdate,
    principal: Principal,
    services: Services,
    store: IntegrationStore,
) -> Envelope[rules.IntegrationPublic]:
    warnings: list[ApiWarning] = []

    async def change(document: dict[str, Any]) -> dict[str, Any] | None:
        with crud.invalid_config_is_422():
            config = rules.updated(document, sent_fields(body), services.box)
            before = rules.stored_endpoint_urls(document, services.box)
        warnings.extend(await _check_urls(config, principal, services, before))
        fields, digests = rules.sealed(config, services.box)
        try:
            return await store.update(principal.tenant_id, integration_id, fields, digests)
        except TokenInUse as exc:
            raise _in_use(exc) from None

    return await INTEGRATIONS.update(
        store, principal.tenant_id, integration_id, services.box, change, warnings
    )


async def delete_integration(
    integration_id: str, principal: Principal, store: IntegrationStore
) -> Envelope[Deleted]:
    return await INTEGRATIONS.delete(store, principal.tenant_id, integration_id)


# -- the routes ------------------------------------------------------------------------------------------------


def build_router(models: rules.IntegrationModels) -> APIRouter:
    """The integration routes for the partners ``models`` was built for. Each endpoint is named after the
    function above it calls (the name is what the operation id is made of)."""
    router = APIRouter(prefix="/api/webhook/config", tags=["integrations"], route_class=BoundedJsonRoute)
    one, many = Envelope[models.public], Page[models.public]  # type: ignore[name-defined]

    async def create(
        body: rules.IntegrationCreate, principal: IntegrationsWrite, services: ServicesDep, store: StoreDep
    ) -> Envelope[rules.IntegrationPublic]:
        return await create_integration(body, principal, services, store)

    async def listed(
        principal: IntegrationsRead,
        services: ServicesDep,
        store: StoreDep,
        provider: str | None = None,
        is_active: Annotated[bool | None, Query(description="Only active (true) or inactive (false)")] = None,
        page: PageNumber = 1,
        per_page: PerPage = 20,
    ) -> Page[rules.IntegrationPublic]:
        return await list_integrations(principal, services, store, provider, is_active, page, per_page)

    async def get(
        integration_id: IntegrationId, principal: IntegrationsRead, services: ServicesDep, store: StoreDep
    ) -> Envelope[rules.IntegrationPublic]:
        return await get_integration(integration_id, principal, services, store)

    async def update(
        integration_id: IntegrationId,
        body: rules.IntegrationUpdate,
        principal: IntegrationsWrite,
        services: ServicesDep,
        store: StoreDep,
    ) -> Envelope[rules.IntegrationPublic]:
        return await update_integration(integration_id, body, principal, services, store)

    async def delete(
        integration_id: IntegrationId, principal: IntegrationsWrite, store: StoreDep
    ) -> Envelope[Deleted]:
        return await delete_integration(integration_id, principal, store)

    _typed(create, body=models.create, **{"return": one})
    _typed(
        listed,
        provider=Annotated[models.provider | None, Query(description="Only this provider's")],
        **{"return": many},
    )
    _typed(get, **{"return": one})
    _typed(update, body=models.update, **{"return": one})

    router.post(
        "",
        name="create_integration",
        status_code=status.HTTP_201_CREATED,
        summary="Create an integration",
        description="seed 002's configuration (name, provider, outgoing_webhook_url, auth_token, custom_headers, "
        "timeout_seconds, retry_attempts, is_active) plus the provider's inbound `verification` and `reply` "
        "credentials. Secrets are write-only: they are encrypted at rest and only ever returned masked.",
        responses=errors(400, 401, 403, 409, 413, 422),
    )(create)
    router.get(
        "", name="list_integrations", summary="List integrations (paginated)", responses=errors(401, 403, 422)
    )(listed)
    router.get(
        "/{integration_id}",
        name="get_integration",
        summary="Get an integration",
        responses=errors(401, 403, 404, 422),
    )(get)
    crud.put_and_patch(
        router,
        "/{integration_id}",
        put=("put_integration", "Update an integration"),
        patch=("patch_integration", "Update some fields of an integration"),
        description="JSON Merge Patch (RFC 7396): fields left out keep their value, `custom_headers`, "
        "`verification` and `reply` merge key by key, `null` removes an optional value, and a masked secret "
        "(`••••…`) keeps the stored one — so a body read with GET can be sent back with a change. The provider "
        "cannot change.",
        responses=errors(400, 401, 403, 404, 409, 413, 422),
    )(update)
    router.delete(
        "/{integration_id}",
        name="delete_integration",
        summary="Delete an integration",
        description="Publishes a tombstone for `integration:<id>` on the config topic.",
        responses=errors(401, 403, 404, 422),
    )(delete)
    return router
