"""An integration's secrets across storage and the API: sealed (encrypted) before MongoDB and the config topic,
revealed to merge an update onto, masked in what the API shows."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from switchboard_contracts import partners
from switchboard_contracts.integrations import token_digest
from switchboard_platform.secrets_box import PREFIX as ENCRYPTED_PREFIX
from switchboard_platform.secrets_box import SecretsBox, mask
from switchboard_registry.domain.integrations.models import (
    IntegrationCreate,
    IntegrationPublic,
    integration_models,
)
from switchboard_registry.domain.integrations.rules import check, events_of, is_sensitive_header
from switchboard_registry.domain.patch import MASK, InvalidConfig, is_masked, merge_patch, revealed, validated

#: Internal lookup fields (registry only): SHA-256 of the tokens that identify an integration by themselves, under
#: unique indexes so two integrations can never answer to the same token.
DIGEST_FIELDS = {"bearer_token": "bearer_token_sha256", "path_token": "path_token_sha256"}


def sealed(config: IntegrationCreate, box: SecretsBox) -> tuple[dict[str, Any], dict[str, str]]:
    """(the stored fields with every secret encrypted, the token digests that are set)."""
    plain = revealed(config.model_dump())
    # Credential-like header values are stored (and published) as ciphertext in place; consumers decrypt every
    # value carrying the ``enc:`` prefix, which plaintext values are not allowed to start with.
    headers = {
        name: box.encrypt(value) if is_sensitive_header(name) else value
        for name, value in plain["custom_headers"].items()
    }
    verification = _seal_part(plain["verification"], partners.secret_fields("verification"), box)
    reply = (
        _seal_part(plain["reply"], partners.secret_fields("reply"), box)
        if plain["reply"] is not None
        else None
    )
    fields = {
        "name": plain["name"],
        "provider": str(config.provider),
        "outgoing_webhook_url": plain["outgoing_webhook_url"],
        "auth_token": box.encrypt(plain["auth_token"]) if plain["auth_token"] is not None else None,
        "custom_headers": headers,
        "timeout_seconds": plain["timeout_seconds"],
        "retry_attempts": plain["retry_attempts"],
        "is_active": plain["is_active"],
        "events": events_of(config),
        "verification": verification,
        "reply": reply,
    }
    digests = {
        DIGEST_FIELDS[name]: token_digest(value)
        for name, value in (plain["verification"] or {}).items()
        if name in DIGEST_FIELDS and value is not None
    }
    return fields, digests


def _seal_part(part: Mapping[str, Any] | None, secrets: Collection[str], box: SecretsBox) -> dict[str, Any]:
    return {
        name: box.encrypt(value) if name in secrets else value
        for name, value in (part or {}).items()
        if value is not None
    }


def revealed_config(document: Mapping[str, Any], box: SecretsBox) -> dict[str, Any]:
    """The stored configuration in request shape with secrets decrypted (the base an update merges onto)."""
    headers = {
        name: box.decrypt(value) if _is_sealed(value) else value
        for name, value in (document.get("custom_headers") or {}).items()
    }
    config: dict[str, Any] = {
        "name": document["name"],
        "provider": document["provider"],
        "outgoing_webhook_url": document.get("outgoing_webhook_url"),
        "auth_token": box.decrypt(document["auth_token"]) if document.get("auth_token") else None,
        "custom_headers": headers,
        "timeout_seconds": document["timeout_seconds"],
        "retry_attempts": document["retry_attempts"],
        "is_active": document["is_active"],
        "events": document["events"],
        "verification": _reveal_part(
            document.get("verification"), partners.secret_fields("verification"), box
        ),
        "reply": _reveal_part(document.get("reply"), partners.secret_fields("reply"), box)
        if document.get("reply")
        else None,
    }
    return {key: value for key, value in config.items() if value is not None}


def _is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(ENCRYPTED_PREFIX)


def _reveal_part(part: Mapping[str, Any] | None, secrets: Collection[str], box: SecretsBox) -> dict[str, Any]:
    return {name: box.decrypt(value) if name in secrets else value for name, value in (part or {}).items()}


def updated(document: Mapping[str, Any], patch: Mapping[str, Any], box: SecretsBox) -> IntegrationCreate:
    """The configuration after applying ``patch`` (an update body's sent fields) to ``document``, validated.

    Masked values in the patch keep the stored secret; the provider cannot change (its fields mean different
    things per provider, so a new provider is a new integration).
    """
    current = revealed_config(document, box)
    if patch.get("provider") not in (None, current["provider"]):
        raise InvalidConfig("provider", "cannot be changed; create a new integration for another provider")
    merged = merge_patch(current, _unmasked(patch, current))
    config = validated(integration_models().create, merged)
    check(config)
    return config


def _unmasked(patch: Mapping[str, Any], current: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """``patch`` with each masked value replaced by the stored value it stands for (header names matched
    case-insensitively); a mask standing for nothing stored is refused."""
    result: dict[str, Any] = {}
    headers = path == "custom_headers."
    for name, value in patch.items():
        # HTTP header names are case-insensitive: "x-api-key" in a patch is the stored "X-API-Key".
        key = _stored_name(current, name) if headers else name
        field = f"{path}{key}"
        if isinstance(value, Mapping):
            stored = current.get(key)
            result[key] = _unmasked(value, stored if isinstance(stored, Mapping) else {}, f"{field}.")
        elif is_masked(value):
            stored_value = current.get(key)
            if stored_value is None:
                raise InvalidConfig(
                    field, f"'{MASK}…' stands for a stored secret, but none is stored; send the secret"
                )
            result[key] = stored_value
        else:
            result[key] = value
    return result


def _stored_name(values: Mapping[str, Any], name: str) -> str:
    return next((stored for stored in values if stored.lower() == name.lower()), name)


# -- responses -------------------------------------------------------------------------------------------------


def public(document: Mapping[str, Any], box: SecretsBox) -> IntegrationPublic:
    headers = {
        name: mask(box.decrypt(value)) if _is_sealed(value) else value
        for name, value in (document.get("custom_headers") or {}).items()
    }
    verification = _public_part(document.get("verification"), partners.secret_fields("verification"), box)
    specs = partners.fields("verification")
    for name, value in list(verification.items()):
        spec = specs.get(name)
        if spec is not None and spec.describe is not None and not spec.secret:
            verification.update(spec.describe(str(value)))
    return integration_models().public(
        id=document["_id"],
        name=document["name"],
        provider=document["provider"],
        outgoing_webhook_url=document.get("outgoing_webhook_url"),
        auth_token=mask(box.decrypt(document["auth_token"])) if document.get("auth_token") else None,
        custom_headers=dict(sorted(headers.items(), key=lambda item: item[0].lower())),
        timeout_seconds=document["timeout_seconds"],
        retry_attempts=document["retry_attempts"],
        is_active=document["is_active"],
        events=document["events"],
        verification={name: str(value) for name, value in verification.items()},
        reply=_public_part(document.get("reply"), partners.secret_fields("reply"), box)
        if document.get("reply")
        else None,
        created_by=document["created_by"],
        created_at=document["created_at"],
        updated_at=document["updated_at"],
    )


def _public_part(
    part: Mapping[str, Any] | None, secrets: Collection[str], box: SecretsBox
) -> dict[str, str | int]:
    return {
        name: mask(box.decrypt(value)) if name in secrets else value for name, value in (part or {}).items()
    }
