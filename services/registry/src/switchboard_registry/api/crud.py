"""What the routes of a tenant-scoped, outbox-published resource share (integrations, conversations).

Each router keeps its own paths, scopes, bodies, filters and create/update rules; a ``Resource`` does the rest
the same way for all: look the tenant's document up (404 in the resource's words when absent), page through
them, show a stored document through the resource's public model in the envelope, delete. Also shared: the 422
for an ``InvalidConfig`` and one merge-patch update endpoint served as both PUT and PATCH.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel

from switchboard_platform.http import ApiError, ApiWarning
from switchboard_platform.secrets_box import SecretsBox
from switchboard_registry.adapters.tenant_documents import TenantDocuments
from switchboard_registry.api.envelopes import Deleted, Envelope, Page, Pagination
from switchboard_registry.domain.patch import InvalidConfig

P = TypeVar("P", bound=BaseModel)
E = TypeVar("E", bound=Callable[..., Awaitable[BaseModel]])


def filters(**sent: object) -> dict[str, object]:
    """A list route's filters that were sent (``None``: not sent), an enum member by its value."""
    return {
        name: value.value if isinstance(value, Enum) else value
        for name, value in sent.items()
        if value is not None
    }


@contextmanager
def invalid_config_is_422() -> Iterator[None]:
    """An ``InvalidConfig`` raised inside becomes the client's 422, naming the offending field."""
    try:
        yield
    except InvalidConfig as exc:
        raise ApiError(422, "validation_error", str(exc), field=exc.field) from None


@dataclass(frozen=True)
class Resource(Generic[P]):
    """A kind of resource: its name in errors (``"integration"``) and how a stored document is shown."""

    noun: str
    public: Callable[[Mapping[str, Any], SecretsBox], P]

    def missing(self) -> ApiError:
        return ApiError(404, "not_found", f"{self.noun} not found")

    def envelope(
        self, document: Mapping[str, Any], box: SecretsBox, warnings: Sequence[ApiWarning] = ()
    ) -> Envelope[P]:
        return Envelope(data=self.public(document, box), warnings=list(warnings))

    async def get(self, store: TenantDocuments, tenant_id: str, item_id: str, box: SecretsBox) -> Envelope[P]:
        document = await store.get(tenant_id, item_id)
        if document is None:
            raise self.missing()
        return self.envelope(document, box)

    async def page(
        self,
        store: TenantDocuments,
        tenant_id: str,
        page: int,
        per_page: int,
        filters: Mapping[str, Any],
        box: SecretsBox,
    ) -> Page[P]:
        items, total = await store.page(tenant_id, page, per_page, filters)
        pagination = Pagination.of(page, per_page, total)
        return Page(data=[self.public(document, box) for document in items], pagination=pagination)

    async def update(
        self,
        store: TenantDocuments,
        tenant_id: str,
        item_id: str,
        box: SecretsBox,
        change: Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]],
        warnings: Sequence[ApiWarning] = (),
    ) -> Envelope[P]:
        """``change`` turns the stored document into the updated one (None: it was deleted meanwhile);
        ``warnings`` (which it may fill) go into the envelope."""
        document = await store.get(tenant_id, item_id)
        if document is None:
            raise self.missing()
        changed = await change(document)
        if changed is None:  # deleted meanwhile
            raise self.missing()
        return self.envelope(changed, box, warnings)

    async def delete(self, store: TenantDocuments, tenant_id: str, item_id: str) -> Envelope[Deleted]:
        if not await store.delete(tenant_id, item_id):
            raise self.missing()
        return Envelope(data=Deleted(id=item_id))


def put_and_patch(
    router: APIRouter,
    path: str,
    *,
    put: tuple[str, str],
    patch: tuple[str, str],
    description: str,
    responses: dict[int | str, dict[str, Any]],
) -> Callable[[E], E]:
    """Registers one merge-patch update (RFC 7396: PUT and PATCH do the same) as both methods, each with its
    ``(route name, summary)``: the name is what the operation id is made of."""

    def register(endpoint: E) -> E:
        for method, (name, summary) in ((router.put, put), (router.patch, patch)):
            method(path, name=name, summary=summary, description=description, responses=responses)(endpoint)
        return endpoint

    return register
