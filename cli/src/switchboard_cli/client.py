"""The registry's and the ingress's public HTTP APIs, and their errors as one line a user can act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import httpx

from switchboard_cli.config import Config

Credential = Literal["api_key", "admin_token", "events_token"]
_CREDENTIAL_VARIABLE = {
    "api_key": "SWITCHBOARD_API_KEY",
    "admin_token": "SWITCHBOARD_ADMIN_TOKEN",
    "events_token": "SWITCHBOARD_EVENTS_TOKEN",
}


class CliError(Exception):
    """Ends the command with one line on stderr (``Error: …``) and exit status 1."""


class ApiError(CliError):
    """The server answered with an error; ``status`` is its HTTP status code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _error_message(response: httpx.Response) -> str:
    """``<status> <code>: <message>`` from the shared error shape, or the status line for anything else."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return f"{response.status_code} {error.get('code', 'error')}: {error['message']}"
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return f"{response.status_code}: {body['detail']}"
    return f"{response.status_code} {response.reason_phrase}".strip()


class Api:
    """One server (registry or ingress) with one credential; every call returns the decoded JSON body."""

    def __init__(
        self, config: Config, server: Literal["registry", "ingress"], credential: Credential
    ) -> None:
        self.server = server
        self.base_url = (config.url if server == "registry" else config.ingress_url).rstrip("/")
        self.credential = credential
        secret = getattr(config, credential)
        self._token = None if secret is None else secret.get_secret_value()
        self._http = httpx.Client(base_url=self.base_url, timeout=config.timeout_s)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> Any:
        if not self._token:
            variable = _CREDENTIAL_VARIABLE[self.credential]
            raise CliError(
                f"no {self.credential.replace('_', ' ')}: set {variable} (or {self.credential} in a profile)"
            )
        sent = {"Authorization": f"Bearer {self._token}", **(headers or {})}
        query = {name: value for name, value in (params or {}).items() if value is not None}
        try:
            response = self._http.request(
                method, path, json=json, params=query, headers=sent, content=content
            )
        except httpx.TransportError as exc:
            raise CliError(unreachable(self.server, self.base_url, exc)) from None
        if response.status_code >= 400:
            message = _error_message(response)
            if response.status_code == 401:
                message += f" (check {_CREDENTIAL_VARIABLE[self.credential]})"
            raise ApiError(response.status_code, f"{self.server}: {message}")
        return response.json() if response.content else None

    def data(self, method: str, path: str, **kwargs: Any) -> Any:
        """The ``data`` of a ``{"status": "success", "data": …}`` answer."""
        body = self.request(method, path, **kwargs)
        return body.get("data") if isinstance(body, dict) and "data" in body else body


_URL_VARIABLE = {"registry": "SWITCHBOARD_URL", "ingress": "SWITCHBOARD_INGRESS_URL"}


def unreachable(server: str, base_url: str, exc: httpx.TransportError) -> str:
    reason = type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        reason = "connection refused"
    elif isinstance(exc, httpx.TimeoutException):
        reason = "timed out"
    host = httpx.URL(base_url).host
    hint = (
        "is `make up` running?"
        if host in ("127.0.0.1", "localhost", "::1")
        else f"check {_URL_VARIABLE.get(server, 'the URL')}"
    )
    return f"cannot reach the {server} at {base_url} ({reason}): {hint}"
