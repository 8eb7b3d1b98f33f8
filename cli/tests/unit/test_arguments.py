"""Command-line values the CLI parses itself (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer

from switchboard_cli.main import _event_list, _since


def test_events_may_be_comma_separated_or_repeated() -> None:
    assert _event_list(["message.*,ticket.created", " conversation.created "]) == [
        "message.*",
        "ticket.created",
        "conversation.created",
    ]


def test_since_takes_rfc_3339_with_or_without_an_offset() -> None:
    assert _since("2026-01-01T00:00:00Z") == datetime(2026, 1, 1, tzinfo=UTC)
    assert _since("2026-01-01T02:00:00+02:00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert _since("2026-01-01T00:00:00") == datetime(2026, 1, 1, tzinfo=UTC)


def test_since_takes_a_duration_back_from_now() -> None:
    before = datetime.now(UTC)
    since = _since("15m")
    assert (
        before - timedelta(minutes=15, seconds=5)
        < since
        <= before - timedelta(minutes=15) + timedelta(seconds=5)
    )


def test_since_refuses_anything_else() -> None:
    with pytest.raises(typer.BadParameter):
        _since("yesterday")
