"""The web console at ``/admin`` (issue #14): server-rendered pages over the registry's own API functions.

Needs the webhooks, integrations and deliveries features installed first (its pages read their stores from
``app.state``). The session key: ``SB_REGISTRY_CONSOLE_SESSION_KEY`` (a Fernet key) when set; else, in production, one derived
from ``SB_SECRETS_KEY`` (required there, and the same on every replica); else one generated at start, so
development sessions end when the registry restarts.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from switchboard_registry.console import filters
from switchboard_registry.console.pages import router
from switchboard_registry.console.responder import ResponderClient
from switchboard_registry.console.session import SessionCodec, derived_key
from switchboard_registry.console.web import Console
from switchboard_registry.features import Context, Feature
from switchboard_registry.settings import RegistrySettings


def session_key(settings: RegistrySettings) -> str:
    configured = settings.console_session_key.get_secret_value().strip()
    if configured:
        return configured
    if settings.is_production:
        newest = settings.secrets_key.get_secret_value().split(",")[0].strip()
        return derived_key(newest, purpose="console-session")
    return SessionCodec.generate_key()


def install(ctx: Context) -> Feature:
    for needed in ("webhooks", "integrations", "deliveries"):
        if needed not in ctx.stores:
            raise RuntimeError(f"install the {needed} feature before the console")
    settings = ctx.settings
    templates = Environment(
        loader=PackageLoader("switchboard_registry.console", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates.filters.update(filters.FILTERS)
    responder = ResponderClient(settings.ai_responder_url, settings.admin_token.get_secret_value())
    key = session_key(settings)
    secure = (
        settings.is_production if settings.console_secure_cookie is None else settings.console_secure_cookie
    )
    ctx.stores["console"] = Console(
        templates=templates,
        codec=SessionCodec(key, settings.console_session_ttl_s),
        secure_cookie=secure,
        responder=responder,
        ingress_url=settings.ingress_url,
    )
    return Feature(routers=[router], on_shutdown=[responder.close])
