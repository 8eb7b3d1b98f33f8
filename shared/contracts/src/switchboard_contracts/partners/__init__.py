"""The partner registry: one module per partner platform, registered once, iterated by every service.

Each module in this package (``freshchat``, ``zendesk``…) defines ``PARTNER``, a ``Partner`` saying, in one place,
its registry fields, how ingress verifies and normalizes its webhooks, and how the dispatcher calls its reply API.
``BUILTIN`` lists them, in the order the APIs show them. The services never name a partner: the registry builds
its ``verification`` / ``reply`` models and rules from ``registered()``, ingress its webhook routes and its
view of each integration, the dispatcher its reply requests.

``load`` registers more partners from module paths (``SB_EXTRA_PARTNERS``): a partner developed outside this
package, or a test's fake one. The settings refuse that variable in production, so a deployment only ever runs
the partners shipped here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Literal

from switchboard_contracts.partners.base import BEARER_TOKEN, NAME, CredentialField, Partner

__all__ = [
    "BUILTIN",
    "PartnerError",
    "fields",
    "get",
    "load",
    "names",
    "register",
    "registered",
    "secret_fields",
    "unregister",
]

#: The partners Switchboard ships, in the order the APIs list them. Adding one: a module defining PARTNER, and
#: its name here (docs/adding-a-partner.md).
BUILTIN: tuple[str, ...] = ("freshchat", "zendesk", "intercom", "chatwoot", "slack", "generic")

_partners: dict[str, Partner] = {}
_builtins_loaded = False


class PartnerError(ValueError):
    """A partner that cannot be registered (bad name, taken name, a field declared unlike another partner's)."""


def _ensure_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    # Imported here, not at module level: the partner modules import the event models, which ask this registry
    # which provider names exist.
    for name in BUILTIN:
        register(importlib.import_module(f"{__name__}.{name}").PARTNER)


def registered() -> tuple[Partner, ...]:
    """Every partner, built-ins first, then those registered later, in registration order."""
    _ensure_builtins()
    return tuple(_partners.values())


def names() -> frozenset[str]:
    _ensure_builtins()
    return frozenset(_partners)


def get(name: str) -> Partner | None:
    _ensure_builtins()
    return _partners.get(name)


def register(partner: Partner) -> Partner:
    """Add ``partner``; registering the same object again is a no-op (every ``create_app`` loads extras)."""
    _ensure_builtins()
    current = _partners.get(partner.name)
    if current is partner:
        return partner
    if current is not None:
        raise PartnerError(f"a partner named {partner.name!r} is already registered")
    if not NAME.match(partner.name):
        raise PartnerError(f"partner name {partner.name!r} must match {NAME.pattern}")
    for section in ("verification", "reply"):
        known = fields(section)
        for spec in getattr(partner, section):
            other = known.get(spec.name)
            if other is not None and other.shape() != spec.shape():
                raise PartnerError(
                    f"{partner.name}: {section}.{spec.name} is declared unlike another partner's "
                    "(type, secrecy, URL-ness, bounds and check must agree)"
                )
    _partners[partner.name] = partner
    return partner


def unregister(name: str) -> None:
    """Remove a partner registered by ``register`` or ``load`` (for tests that add a fake one)."""
    if name in BUILTIN:
        raise PartnerError(f"{name} is built in")
    _partners.pop(name, None)


def load(module_paths: Iterable[str]) -> list[Partner]:
    """Import each module and register its ``PARTNER``. The caller decides whether loading code from a setting
    is allowed (the settings refuse ``SB_EXTRA_PARTNERS`` in production)."""
    loaded: list[Partner] = []
    for path in module_paths:
        module = importlib.import_module(path)
        partner = getattr(module, "PARTNER", None)
        if not isinstance(partner, Partner):
            raise PartnerError(f"module {path} defines no PARTNER (a switchboard_contracts.partners.Partner)")
        loaded.append(register(partner))
    return loaded


def fields(section: Literal["verification", "reply"]) -> dict[str, CredentialField]:
    """Every partner's fields of one section by name, in order of first declaration; ``verification`` ends with
    seed 002's ``bearer_token``, which every inbound partner accepts."""
    _ensure_builtins()
    result: dict[str, CredentialField] = {}
    for partner in _partners.values():
        for spec in getattr(partner, section):
            result.setdefault(spec.name, spec)
    if section == "verification":
        result[BEARER_TOKEN.name] = BEARER_TOKEN
    return result


def secret_fields(section: Literal["verification", "reply"]) -> frozenset[str]:
    """The names of one section's secret fields, across partners (a name is secret for all or for none)."""
    return frozenset(name for name, spec in fields(section).items() if spec.secret)
