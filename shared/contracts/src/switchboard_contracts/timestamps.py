"""Timestamps as Switchboard writes them everywhere (CloudEvents ``time``, webhook payloads, API answers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

TimeSpec = Literal["auto", "seconds", "milliseconds", "microseconds"]


def utc_z(value: datetime, timespec: TimeSpec = "auto") -> str:
    """``value`` in UTC as ISO 8601 with a ``Z`` (``2024-03-21T10:00:00Z``), to ``timespec``."""
    return value.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
