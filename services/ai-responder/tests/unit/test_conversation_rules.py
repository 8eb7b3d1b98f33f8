"""What the bot does next: answer, hold for review, hand over, stay silent (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard_ai_responder.domain.answers import Answer
from switchboard_ai_responder.domain.conversation import (
    Conversation,
    after_answer,
    closed,
    derived_id,
    event_key,
    expiry,
    first_action,
    opened,
    session_fields,
)
from switchboard_ai_responder.domain.intents import Intent
from switchboard_ai_responder.domain.tenants import TenantSettings

BOT = Conversation(tenant_id="t", conversation_id="c")


def _answer(kind: str = "answer", confidence: float = 0.9) -> Answer:
    return Answer(text="x", kind=kind, confidence=confidence, provider="knowledge-base")  # type: ignore[arg-type]


def test_live_chat_silences_the_bot_even_for_handoff_phrases() -> None:
    live = opened(BOT, "live_1")
    assert first_action(live, Intent.QUESTION) == "silent"
    assert first_action(live, Intent.HANDOFF) == "silent"
    assert first_action(BOT, Intent.HANDOFF) == "handoff"
    assert first_action(BOT, Intent.QUESTION) is None


def test_a_confident_answer_is_sent_and_resets_the_streak() -> None:
    streaky = Conversation(tenant_id="t", conversation_id="c", low_confidence_streak=1)
    assert after_answer(streaky, _answer(), TenantSettings()) == ("answer", 0)


def test_fallbacks_in_a_row_hand_over_at_the_tenants_limit() -> None:
    settings = TenantSettings(handoff_after_low_confidence=2)
    action, streak = after_answer(BOT, _answer("fallback", 0.1), settings)
    assert (action, streak) == ("answer", 1)
    again = Conversation(tenant_id="t", conversation_id="c", low_confidence_streak=streak)
    assert after_answer(again, _answer("fallback", 0.1), settings) == ("handoff", 0)
    assert (
        after_answer(again, _answer("fallback", 0.1), TenantSettings(handoff_after_low_confidence=0))[0]
        == "answer"
    )


def test_answers_below_the_review_threshold_are_held_but_small_talk_never_is() -> None:
    settings = TenantSettings(review_threshold=0.8)
    assert after_answer(BOT, _answer(confidence=0.6), settings)[0] == "hold"
    assert after_answer(BOT, _answer(confidence=0.9), settings)[0] == "answer"
    assert after_answer(BOT, _answer("smalltalk", 1.0), TenantSettings(review_threshold=1.0))[0] == "answer"
    assert after_answer(BOT, _answer("fallback", 0.1), settings)[0] == "answer"


def test_closing_a_stale_session_leaves_the_open_one_alone() -> None:
    live = opened(BOT, "live_2")
    assert closed(live, "live_1") == live
    assert closed(live, "live_2").mode == "bot"
    assert closed(live, None).mode == "bot"


def test_session_fields_are_what_opening_and_closing_store() -> None:
    streaky = Conversation(tenant_id="t", conversation_id="c", low_confidence_streak=2)
    live = opened(streaky, "live_3")
    assert session_fields(live) == {"mode": "live", "session_id": "live_3", "low_confidence_streak": 0}
    assert session_fields(closed(live, "live_3")) == {
        "mode": "bot",
        "session_id": None,
        "low_confidence_streak": 0,
    }


def test_ids_are_derived_from_the_inbound_event() -> None:
    key = event_key("//bridge", "e-1")
    assert key == event_key("//bridge", "e-1") != event_key("//other", "e-1")
    assert derived_id(key, "reply") == derived_id(key, "reply") != derived_id(key, "handoff")


def test_memory_expires_after_the_tenants_idle_time_or_the_default() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert expiry(now, TenantSettings(), 3600) == now + timedelta(hours=1)
    assert expiry(now, TenantSettings(session_idle_s=600), 3600) == now + timedelta(minutes=10)
    conversation = Conversation(tenant_id="t", conversation_id="c", expires_at=now)
    assert conversation.expired(now)
    assert not conversation.expired(now - timedelta(seconds=1))
