from __future__ import annotations

import pytest

from switchboard_contracts.events import EVENT_CATALOG, EventType, is_valid_filter, matches


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("*", "ticket.created", True),
        ("message.created", "message.created", True),
        ("message.created", "message.updated", False),
        ("message.*", "message.received", True),
        ("message.*", "messages.created", False),
        ("ai.*", "ai.response.generated", True),
        ("ai.response.*", "ai.responses", False),
    ],
)
def test_filter_matching(pattern: str, event_type: str, expected: bool) -> None:
    assert matches(pattern, event_type) is expected


@pytest.mark.parametrize(
    "name",
    [
        "conversation.created",
        "chatbot.trained",
        "user.logout",
        "ticket.escalated",
        "ai.response.requires_review",
        "conversation.added",
        "feedback.received",
        "delivery.exhausted",
    ],
)
def test_catalog_holds_the_seed_events(name: str) -> None:
    assert EventType(name) in EVENT_CATALOG


def test_unknown_events_and_wildcards_are_invalid_filters() -> None:
    assert not is_valid_filter("message.exploded")
    assert not is_valid_filter("nothing.*")
    assert is_valid_filter("chatbot.*")
