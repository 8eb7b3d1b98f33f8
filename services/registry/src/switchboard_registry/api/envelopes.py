"""Response envelopes for the OpenAPI document: ``{"status": "success", "data": …, "warnings"?: […]}`` and the
shared error shape.

The error shape itself is rendered by ``switchboard_platform.http`` and described by ``switchboard_platform.openapi``;
``errors`` lets a route say which errors its own logic answers with.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from switchboard_platform.http import ApiWarning
from switchboard_platform.openapi import error_responses

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    status: Literal["success"] = "success"
    data: T
    warnings: list[ApiWarning] = Field(
        default_factory=list,
        description="What the client should look at although the request succeeded (e.g. `unresolved_host`: "
        "a URL's host does not resolve from the registry); absent when there is none",
        exclude_if=lambda v: not v,
    )


#: The deepest page a list serves. A page skips ``(page - 1) * per_page`` documents and MongoDB's skip is a
#: signed 64-bit integer, so an unbounded ``page`` was a 500; 10,000 pages of 100 is a million documents,
#: deeper than anyone pages by hand (filters narrow a list instead).
MAX_PAGE = 10_000
MAX_PER_PAGE = 100
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"1-based page number, at most {MAX_PAGE}")]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description=f"Items per page, at most {MAX_PER_PAGE}")]


class Pagination(BaseModel):
    page: int = Field(ge=1)
    per_page: int = Field(ge=1)
    total: int = Field(ge=0)
    pages: int = Field(ge=0)

    @classmethod
    def of(cls, page: int, per_page: int, total: int) -> Pagination:
        return cls(page=page, per_page=per_page, total=total, pages=math.ceil(total / per_page))


class Page(BaseModel, Generic[T]):
    status: Literal["success"] = "success"
    data: list[T]
    pagination: Pagination


class Deleted(BaseModel):
    id: str
    deleted: Literal[True] = True


_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "Missing or invalid API key",
    403: "The API key lacks the scope",
    404: "No such resource for this tenant",
    409: "Conflicts with another resource",
    413: "Request body too large",
    422: "Invalid field (named in error.field), including URLs refused by the address policy",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route answering with these error codes, in the shared error shape."""
    return error_responses({code: _DESCRIPTIONS[code] for code in codes})
