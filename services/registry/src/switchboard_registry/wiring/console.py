"""The web console at ``/admin`` (issue #14): server-rendered pages over the registry's own API functions.

Needs the webhooks, integrations and deliveries features installed first (its pages read their stores from
``app.state``). The session key: ``SB_REGISTRY_CONSOLE_SESSION_KEY`` (a Fernet key; production refuses to start
without one), else a key generated here, so development sessions end when the registry restarts.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from switchboard_registry.console import filters
from switchboard_registry.console.pages import router
from switchboard_registry.console.responder import ResponderClient
from switchboard_registry.console.session import SessionCodec
from switchboard_registry.console.web import Console
from switchboard_registry.features import Context, Feature


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
    key = settings.console_session_key.get_secret_value() or SessionCodec.generate_key()
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
