"""FastAPI dependencies: the composition root's objects, typed, and authentication.

Until the registry's API keys can be verified here (see the package README), the management API is protected by
one operator token (``SB_AI_RESPONDER_ADMIN_TOKEN``) and names the tenant in its path.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from switchboard_ai_responder.adapters.articles import ArticleStore
from switchboard_ai_responder.service import Operations, Stores
from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_shared.http import ApiError
from switchboard_shared.netsafety import Resolver


@dataclass
class Services:
    settings: AiResponderSettings
    stores: Stores
    operations: Operations
    resolver: Resolver

    @property
    def articles(self) -> ArticleStore:
        return self.stores.articles


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]
_bearer = HTTPBearer(auto_error=False, description="The operator token (SB_AI_RESPONDER_ADMIN_TOKEN)")


async def require_admin(
    services: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    """The caller's identity for audit fields (``admin``) when the bearer token is the operator's."""
    expected = services.settings.admin_token.get_secret_value().encode()
    if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), expected):
        raise ApiError(
            401, "unauthorized", "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    return "admin"


AdminDep = Annotated[str, Depends(require_admin)]


def envelope(data: object) -> dict[str, object]:
    return {"status": "success", "data": data}
