"""The ai-responder's API as the console calls it: live chats and held answers, for the signed-in tenant.

The console signs in tenants itself and never keeps their API key, so it calls the ai-responder with the
operator's admin token (the two services share it, as the CLI's defaults assume), always under the tenant the
session belongs to: the tenant id in the path comes from the session, never from the page.
"""

from __future__ import annotations

from typing import Any

import httpx

from switchboard_platform.http import ApiError


class ResponderClient:
    def __init__(self, base_url: str, admin_token: str, timeout_s: float = 5.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=timeout_s,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError:
            raise ApiError(
                503, "responder_unavailable", "the ai-responder cannot be reached; try again shortly"
            ) from None
        if response.status_code >= 400:
            try:
                error = response.json().get("error", {})
            except ValueError:
                error = {}
            raise ApiError(
                response.status_code if response.status_code in (404, 409, 422) else 502,
                str(error.get("code", "responder_error")),
                str(error.get("message", f"the ai-responder answered {response.status_code}")),
            )
        return response.json()["data"]

    async def conversations(self, tenant_id: str, mode: str | None = "live") -> list[dict[str, Any]]:
        params = {"mode": mode} if mode else {}
        data: list[dict[str, Any]] = await self._call(
            "GET", f"/api/tenants/{tenant_id}/conversations", params=params
        )
        return data

    async def conversation(self, tenant_id: str, conversation_id: str) -> dict[str, Any]:
        data: dict[str, Any] = await self._call(
            "GET", f"/api/tenants/{tenant_id}/conversations/{conversation_id}"
        )
        return data

    async def agent_message(self, tenant_id: str, conversation_id: str, text: str, agent_name: str) -> None:
        await self._call(
            "POST",
            f"/api/tenants/{tenant_id}/conversations/{conversation_id}/agent-messages",
            json={"text": text, "agent_name": agent_name},
        )

    async def close_handoff(self, tenant_id: str, conversation_id: str) -> None:
        await self._call("POST", f"/api/tenants/{tenant_id}/conversations/{conversation_id}/handoff/close")

    async def reviews(self, tenant_id: str, status: str = "pending") -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = await self._call(
            "GET", f"/api/tenants/{tenant_id}/reviews", params={"status": status}
        )
        return data

    async def approve(self, tenant_id: str, review_id: str, text: str | None, reviewer: str) -> None:
        body: dict[str, Any] = {"reviewer": reviewer}
        if text:
            body["text"] = text
        await self._call("POST", f"/api/tenants/{tenant_id}/reviews/{review_id}/approve", json=body)

    async def reject(self, tenant_id: str, review_id: str, reason: str, reviewer: str) -> None:
        await self._call(
            "POST",
            f"/api/tenants/{tenant_id}/reviews/{review_id}/reject",
            json={"reason": reason, "reviewer": reviewer},
        )
