"""Partial updates as JSON Merge Patch (RFC 7396), and the rule that keeps write-only secrets write-only.

``PUT``/``PATCH`` on integrations and conversations apply the request body to the stored configuration the way
RFC 7396 says: a field you send replaces the stored one, an object you send is merged key by key, ``null``
removes the key, anything you leave out stays. The merged result is then validated as if it had been created
that way (``validated``), so an update can never produce a configuration a create would have refused.

Secrets come back from the API masked (``••••abcd``). A client that reads a configuration, edits one field and
sends the whole thing back sends those masks too; a masked value therefore means "keep the stored secret"
instead of storing the mask itself.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

#: What every masked secret starts with (``switchboard_platform.secrets_box.mask``).
MASK = "••••"

M = TypeVar("M", bound=BaseModel)


class InvalidConfig(ValueError):
    """A configuration a client must fix: ``field`` is the dotted path of the offending field (API: 422)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def is_masked(value: object) -> bool:
    return isinstance(value, str) and value.startswith(MASK)


def merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396 section 2: ``target`` with ``patch`` applied; neither argument is modified."""
    result = copy.deepcopy(dict(target))
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping):
            current = result.get(key)
            result[key] = merge_patch(current if isinstance(current, Mapping) else {}, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def revealed(value: Any) -> Any:
    """``value`` with every ``SecretStr`` replaced by its plaintext (dicts and lists walked)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Mapping):
        return {key: revealed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [revealed(item) for item in value]
    return value


def sent_fields(body: BaseModel) -> dict[str, Any]:
    """What the client sent in an update body — explicit nulls included, secrets in plaintext."""
    return dict(revealed(body.model_dump(exclude_unset=True)))


def validated(model: type[M], data: Mapping[str, Any]) -> M:
    """``model`` built from merged data; the first problem becomes an ``InvalidConfig`` naming its field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidConfig(field, first["msg"]) from None
