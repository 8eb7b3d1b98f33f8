"""``/api/conversations``: conversations with a seed 001 callback (``config.callback_url``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status

from switchboard_platform.http import ApiWarning, BoundedJsonRoute
from switchboard_platform.netsafety import CheckedUrl
from switchboard_registry.adapters.conversations import ConversationStore
from switchboard_registry.adapters.tenants import Principal
from switchboard_registry.api import crud
from switchboard_registry.api.envelopes import Deleted, Envelope, Page, PageNumber, PerPage, errors
from switchboard_registry.deps import ConversationsRead, ConversationsWrite, ServicesDep
from switchboard_registry.domain import conversations as rules
from switchboard_registry.domain.patch import sent_fields
from switchboard_registry.domain.urls import check_endpoint_url

router = APIRouter(prefix="/api/conversations", tags=["conversations"], route_class=BoundedJsonRoute)


def _store(request: Request) -> ConversationStore:
    store: ConversationStore = request.app.state.conversations
    return store


StoreDep = Annotated[ConversationStore, Depends(_store)]
ConversationId = Annotated[str, Path(description="The conversation id (UUID)")]
CONVERSATIONS = crud.Resource("conversation", rules.public)


async def _checked_callback(url: str, principal: Principal, services: ServicesDep) -> CheckedUrl:
    # seed 001: "HTTPS only", "HTTPS protocol mandatory" — so no plain http even for development tenants.
    return await check_endpoint_url(
        url,
        field="config.callback_url",
        development_mode=False,
        policy=services.address_policy(principal.development_mode),
        resolver=services.resolver,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a conversation with a callback URL",
    description="seed 001: the conversation's message events are POSTed to `config.callback_url` (HTTPS only; "
    "30 s timeout; 3 retries after 4, 8 and 10 s; at most 10 concurrent and 100 per minute per endpoint). "
    "Other `config` keys are stored and returned as given.",
    responses=errors(400, 401, 403, 413, 422),
)
async def create_conversation(
    body: rules.ConversationCreate, principal: ConversationsWrite, services: ServicesDep, store: StoreDep
) -> Envelope[rules.ConversationPublic]:
    with crud.invalid_config_is_422():
        rules.check(body)
    checked = await _checked_callback(body.config.callback_url, principal, services)
    body.config.callback_url = checked.url
    document = await store.create(principal.tenant_id, principal.key_id, rules.stored(body, services.box))
    return CONVERSATIONS.envelope(document, services.box, checked.warnings)


@router.get("", summary="List conversations (paginated)", responses=errors(401, 403, 422))
async def list_conversations(
    principal: ConversationsRead,
    services: ServicesDep,
    store: StoreDep,
    channel: Annotated[rules.Channel | None, Query(description="Only this channel's")] = None,
    usecase: Annotated[str | None, Query(max_length=100, description="Only this use case's")] = None,
    page: PageNumber = 1,
    per_page: PerPage = 20,
) -> Page[rules.ConversationPublic]:
    filters = crud.filters(channel=channel, usecase=usecase)
    return await CONVERSATIONS.page(store, principal.tenant_id, page, per_page, filters, services.box)


@router.get("/{conversation_id}", summary="Get a conversation", responses=errors(401, 403, 404, 422))
async def get_conversation(
    conversation_id: ConversationId, principal: ConversationsRead, services: ServicesDep, store: StoreDep
) -> Envelope[rules.ConversationPublic]:
    return await CONVERSATIONS.get(store, principal.tenant_id, conversation_id, services.box)


@crud.put_and_patch(
    router,
    "/{conversation_id}",
    put=("put_conversation", "Update a conversation"),
    patch=("patch_conversation", "Update some fields of a conversation"),
    description="JSON Merge Patch (RFC 7396): fields left out keep their value, `config` merges key by key and "
    "`null` removes a config key (`config.callback_url` is required and cannot be removed).",
    responses=errors(400, 401, 403, 404, 413, 422),
)
async def update_conversation(
    conversation_id: ConversationId,
    body: rules.ConversationUpdate,
    principal: ConversationsWrite,
    services: ServicesDep,
    store: StoreDep,
) -> Envelope[rules.ConversationPublic]:
    warnings: list[ApiWarning] = []

    async def change(document: dict[str, Any]) -> dict[str, Any] | None:
        with crud.invalid_config_is_422():
            config = rules.updated(document, sent_fields(body), services.box)
        if config.config.callback_url != document["config"]["callback_url"]:
            checked = await _checked_callback(config.config.callback_url, principal, services)
            config.config.callback_url = checked.url
            warnings.extend(checked.warnings)
        return await store.update(principal.tenant_id, conversation_id, rules.stored(config, services.box))

    return await CONVERSATIONS.update(
        store, principal.tenant_id, conversation_id, services.box, change, warnings
    )


@router.delete(
    "/{conversation_id}",
    summary="Delete a conversation",
    description="Stops its callbacks: publishes a tombstone for `conversation:<id>` on the config topic.",
    responses=errors(401, 403, 404, 422),
)
async def delete_conversation(
    conversation_id: ConversationId, principal: ConversationsWrite, store: StoreDep
) -> Envelope[Deleted]:
    return await CONVERSATIONS.delete(store, principal.tenant_id, conversation_id)
