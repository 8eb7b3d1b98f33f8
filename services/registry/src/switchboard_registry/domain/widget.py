"""seed 004's chat widget policy, kept on the tenant: which web origins may call the widget endpoints (CORS), and
whether they must send an X-CSRFToken. The ingress follows tenants on the config topic and enforces it."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


def origin(value: str) -> str:
    """``value`` as a browser sends it in ``Origin`` (scheme://host[:port], lower case), or ValueError."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an origin: expected http(s)://host[:port]")
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{value!r} is not an origin: no path, query, fragment or credentials")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} has an invalid port") from None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


class WidgetPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed_origins: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Origins of the sites embedding the widget (CORS), e.g. https://www.acme.com",
        examples=[["https://www.acme.com", "http://localhost:3000"]],
    )
    csrf: bool = Field(default=False, description="Require an X-CSRFToken (GET /chat/csrf-token issues one)")

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(origin(value) for value in values))
