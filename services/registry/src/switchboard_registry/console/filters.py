"""Jinja filters of the console's templates: numbers and times as people read them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def milliseconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def when(value: str | datetime | None) -> str:
    """An API time (RFC 3339) as ``2026-12-05 08:11:32 UTC``."""
    if value is None or value == "":
        return "—"
    moment = (
        value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


FILTERS: dict[str, Callable[..., Any]] = {"percent": percent, "ms": milliseconds, "when": when}
