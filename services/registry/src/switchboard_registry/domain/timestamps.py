"""Timestamps as the API shows them: UTC with a ``Z``, whatever precision MongoDB keeps.

Configuration resources use the seeds' shape to the second (``2024-03-21T10:00:00Z``); the delivery log and
the message history keep milliseconds, where attempts a few milliseconds apart must stay in order.
"""

from __future__ import annotations

from datetime import datetime

from switchboard_contracts.timestamps import utc_z


def iso_seconds(value: datetime) -> str:
    return utc_z(value, "seconds")


def iso(value: datetime | None) -> str | None:
    """To the millisecond; None stays None."""
    if value is None:
        return None
    return utc_z(value, "milliseconds")
