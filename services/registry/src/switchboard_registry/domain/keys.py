"""API keys: issued here, checked everywhere (``switchboard_platform.api_keys`` has the rules and the view)."""

from __future__ import annotations

from switchboard_platform.api_keys import KEY_PREFIX, Scope, digest, generate_key, grants

__all__ = ["KEY_PREFIX", "Scope", "digest", "generate_key", "grants"]
