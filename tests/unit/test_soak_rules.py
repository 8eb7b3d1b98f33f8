"""The soak's own rules (bench/soak): the memory-growth fit, which deliveries the subscriptions call for, and the
receiver's scripted failures."""

from __future__ import annotations

from typing import Any

from bench.soak.receiver import Endpoints
from bench.soak.report import growth, slope, verdicts
from bench.soak.run import Ledger
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_dispatcher.domain.tasks import delivery_id


def _rows(rss: list[float], phase: str = "load") -> list[dict[str, Any]]:
    return [{"t": float(t), "phase": phase, "rss_mib": {"svc": value}} for t, value in enumerate(rss)]


def test_slope_is_the_least_squares_fit() -> None:
    assert slope([(0, 1), (1, 3), (2, 5)]) == 2
    assert slope([(0, 4)]) == 0


def test_growth_fits_the_second_half_of_the_load_and_projects_it_over_the_whole_load() -> None:
    # A warm-up step in the first half, flat afterwards: no growth.
    flat = growth(_rows([80.0] * 50 + [100.0] * 50), "rss_mib", "svc", 100)
    assert flat["projected_growth"] == 0
    # 0.5 MiB a second in the second half: 50 MiB over a 100 s load.
    leaking = growth(_rows([100.0 + 0.5 * t for t in range(100)]), "rss_mib", "svc", 100)
    assert leaking["projected_growth"] == 50


def test_the_verdicts_fail_on_growth_lag_or_loss() -> None:
    summary: dict[str, Any] = {
        "services": {"svc": {"memory_bounded": True, "fds_bounded": True}},
        "consumer_lag": {"svc.group": {"max": 10, "end": 0}},
        "lost": 0,
        "deliveries": {"unauthenticated_requests": 0},
    }
    assert all(verdicts(summary).values())
    summary["consumer_lag"]["svc.group"]["end"] = 3
    summary["lost"] = 1
    failed = {name for name, ok in verdicts(summary).items() if not ok}
    assert failed == {"lag_returned_to_zero", "nothing_lost"}


def test_the_ledger_expects_a_delivery_per_matching_subscription_once() -> None:
    ledger = Ledger("acme", {"all": "h1", "flaky": "h2", "dead": "h3"}, bridge="b1")
    reply = CloudEvent(
        source="/switchboard/ai-responder",
        type="message.replied",
        tenant="acme",
        data={"conversation_id": "c", "in_reply_to": "m1", "integration_id": "b1"},
    )
    ledger.record(reply)
    ledger.record(reply)  # the same event read twice
    ledger.record(reply.model_copy(update={"tenant": "someone-else", "id": "x"}))
    assert ledger.expected["/all"] == {delivery_id(reply.source, reply.id, "webhook", "h1")}
    assert ledger.expected["/flaky"] == {delivery_id(reply.source, reply.id, "webhook", "h2")}
    assert ledger.expected["/bridge"] == {delivery_id(reply.source, reply.id, "integration", "b1")}
    assert "/dead" not in ledger.expected
    assert ledger.answered == {"m1"}


def test_the_flaky_endpoint_fails_about_its_share_of_first_attempts_and_never_a_third() -> None:
    ids = [f"msg_{n}" for n in range(2000)]
    first = sum(Endpoints._fails(wid, 1, 20) for wid in ids)
    assert 300 < first < 500
    assert not any(Endpoints._fails(wid, 3, 90) for wid in ids)
