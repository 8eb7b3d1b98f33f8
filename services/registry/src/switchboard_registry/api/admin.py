"""``/api/admin``: the operator creates tenants and their API keys with the admin token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from switchboard_contracts.fields import DisplayName
from switchboard_platform.http import ApiError, BoundedJsonRoute, success_body
from switchboard_registry.api.envelopes import errors
from switchboard_registry.deps import AdminDep, ServicesDep
from switchboard_registry.domain.keys import Scope
from switchboard_registry.domain.widget import WidgetPolicy

router = APIRouter(prefix="/api/admin", tags=["admin"], route_class=BoundedJsonRoute)

#: Routes naming a tenant (or its key) answer 404 when there is none.
_UNKNOWN = errors(404)


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: DisplayName = Field(min_length=1, max_length=200, examples=["Acme Support"])
    development_mode: bool = Field(
        default=False,
        description="Allows plain-http URLs for this tenant, and loopback URLs where the installation allows "
        "them (SB_REGISTRY_ALLOW_LOOPBACK_URLS: a development installation only)",
    )
    widget: WidgetPolicy | None = Field(default=None, description="seed 004 chat widget policy")


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: DisplayName | None = Field(default=None, min_length=1, max_length=200)
    development_mode: bool | None = None
    widget: WidgetPolicy | None = None


class TenantPublic(BaseModel):
    id: str
    name: str
    development_mode: bool
    widget: WidgetPolicy | None = None
    created_at: datetime
    updated_at: datetime


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: DisplayName = Field(min_length=1, max_length=200, examples=["production backend"])
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.ALL], min_length=1)


class ApiKeyPublic(BaseModel):
    id: str
    tenant_id: str
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it")
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The API key. Shown only in this response: store it now.")


def tenant_public(document: dict[str, Any]) -> TenantPublic:
    return TenantPublic(
        id=document["_id"],
        name=document["name"],
        development_mode=document["development_mode"],
        widget=document.get("widget"),
        created_at=document["created_at"],
        updated_at=document["updated_at"],
    )


def _key(document: dict[str, Any]) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=document["_id"],
        tenant_id=document["tenant_id"],
        name=document["name"],
        prefix=document["prefix"],
        scopes=document["scopes"],
        created_at=document["created_at"],
        revoked_at=document.get("revoked_at"),
    )


@router.post("/tenants", status_code=status.HTTP_201_CREATED, summary="Create a tenant")
async def create_tenant(body: TenantCreate, _: AdminDep, services: ServicesDep) -> dict[str, Any]:
    document = await services.tenants.create_tenant(
        body.name, body.development_mode, body.widget.model_dump() if body.widget else None
    )
    return success_body(tenant_public(document))


@router.get("/tenants/{tenant_id}", summary="Get a tenant", responses=_UNKNOWN)
async def get_tenant(tenant_id: str, _: AdminDep, services: ServicesDep) -> dict[str, Any]:
    document = await services.tenants.get_tenant(tenant_id)
    if document is None:
        raise ApiError(404, "not_found", "tenant not found")
    return success_body(tenant_public(document))


@router.patch("/tenants/{tenant_id}", summary="Update a tenant", responses=_UNKNOWN)
async def update_tenant(
    tenant_id: str, body: TenantUpdate, _: AdminDep, services: ServicesDep
) -> dict[str, Any]:
    # Fields left out stay as they are; "widget": null removes the tenant's widget policy.
    changes = {
        name: value
        for name, value in body.model_dump(exclude_unset=True).items()
        if value is not None or name == "widget"
    }
    document = await services.tenants.update_tenant(tenant_id, changes)
    if document is None:
        raise ApiError(404, "not_found", "tenant not found")
    return success_body(tenant_public(document))


@router.post(
    "/tenants/{tenant_id}/api-keys",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (the key is returned once)",
    responses=_UNKNOWN,
)
async def create_api_key(
    tenant_id: str, body: ApiKeyCreate, _: AdminDep, services: ServicesDep
) -> dict[str, Any]:
    if await services.tenants.get_tenant(tenant_id) is None:
        raise ApiError(404, "not_found", "tenant not found")
    key, document = await services.tenants.create_key(tenant_id, body.name, [s.value for s in body.scopes])
    return success_body(ApiKeyCreated(**_key(document).model_dump(), key=key))


@router.get(
    "/tenants/{tenant_id}/api-keys",
    summary="List a tenant's API keys (never the keys themselves)",
    responses=_UNKNOWN,
)
async def list_api_keys(tenant_id: str, _: AdminDep, services: ServicesDep) -> dict[str, Any]:
    if await services.tenants.get_tenant(tenant_id) is None:
        raise ApiError(404, "not_found", "tenant not found")
    return success_body([_key(document) for document in await services.tenants.list_keys(tenant_id)])


@router.delete("/tenants/{tenant_id}/api-keys/{key_id}", summary="Revoke an API key", responses=_UNKNOWN)
async def revoke_api_key(tenant_id: str, key_id: str, _: AdminDep, services: ServicesDep) -> dict[str, Any]:
    document = await services.tenants.revoke_key(tenant_id, key_id)
    if document is None:
        raise ApiError(404, "not_found", "active API key not found")
    return success_body(_key(document))
