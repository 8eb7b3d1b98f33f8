"""The delivery decision, table-driven: each verdict, schedule position and endpoint shape, no I/O."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from switchboard_contracts.events import EndpointKind
from switchboard_dispatcher.domain.decisions import (
    FAILING_TOO_LONG,
    AttemptResult,
    DeadLetter,
    DeliveryDecision,
    Disable,
    History,
    Retry,
    Succeeded,
    decide,
)
from switchboard_dispatcher.domain.policy import Outcome, Verdict, judge_status
from switchboard_dispatcher.domain.targets import Target

AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


class NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return 0.0


def target(
    kind: EndpointKind = "webhook", schedule: tuple[int, ...] = (4, 8, 10), ordered: bool = False
) -> Target:
    return Target(
        kind=kind,
        id="e1",
        tenant_id="t1",
        url="https://hooks.test/x",
        retry_schedule=schedule,
        ordered=ordered,
    )


def status(code: int, kind: EndpointKind = "webhook", retry_after: timedelta | None = None) -> AttemptResult:
    return AttemptResult(judge_status(code, kind), status=code, retry_after=retry_after)


NETWORK = AttemptResult(Outcome(Verdict.RETRY, "timeout", "timed out"))
SSRF = AttemptResult(Outcome(Verdict.FAIL, "ssrf_blocked", "private address"))
S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("result", "policy", "history", "expected"),
    [
        pytest.param(status(200), target(), History(1, AT), Succeeded(), id="2xx succeeds"),
        pytest.param(status(204), target(), History(3, AT, failing_too_long=True), Succeeded(), id="2xx wins over failing"),
        pytest.param(status(500), target(), History(1, AT), Retry(4 * S, AT + 4 * S), id="5xx retries after schedule[0]"),
        pytest.param(status(503), target(), History(2, AT), Retry(8 * S, AT + 8 * S), id="second failure waits schedule[1]"),
        pytest.param(NETWORK, target(), History(3, AT), Retry(10 * S, AT + 10 * S), id="timeout retries"),
        pytest.param(status(500), target(), History(4, AT), DeadLetter("exhausted"), id="schedule used up"),
        pytest.param(status(500), target(schedule=()), History(1, AT), DeadLetter("exhausted"), id="empty schedule"),
        pytest.param(status(400), target(), History(1, AT), DeadLetter("failed"), id="4xx fails at once"),
        pytest.param(status(400, "callback"), target("callback"), History(1, AT), Retry(4 * S, AT + 4 * S), id="callback retries 4xx"),
        pytest.param(SSRF, target(), History(1, AT), DeadLetter("failed"), id="blocked address fails"),
        pytest.param(status(410), target(), History(1, AT), Disable("410 Gone: the endpoint asked to stop receiving deliveries"), id="410 disables"),
        pytest.param(status(410, "callback"), target("callback"), History(2, AT), Disable("410 Gone: the endpoint asked to stop receiving deliveries"), id="410 disables a callback"),
        pytest.param(status(302), target(), History(1, AT), Retry(4 * S, AT + 4 * S), id="redirect retries"),
        pytest.param(
            status(429, retry_after=30 * S), target(), History(1, AT), Retry(30 * S, AT + 30 * S), id="Retry-After longer wins"
        ),
        pytest.param(
            status(429, retry_after=1 * S), target(), History(1, AT), Retry(4 * S, AT + 4 * S), id="Retry-After shorter loses"
        ),
        pytest.param(
            AttemptResult(judge_status(429, "webhook"), status=429, latency_ms=1500, retry_after=5 * S),
            target(),
            History(1, AT),
            Retry(5 * S, AT + 6.5 * S),
            id="the wait counts from the answer, not from the request",
        ),
        pytest.param(
            status(500), target(ordered=True), History(1, AT), Retry(4 * S, AT + 4 * S, in_lane=True), id="FIFO retries in lane"
        ),
        pytest.param(
            status(500), target(), History(1, AT, failing_too_long=True),
            Retry(4 * S, AT + 4 * S, disable=FAILING_TOO_LONG), id="failing too long disables and still retries",
        ),
        pytest.param(
            status(400), target(), History(1, AT, failing_too_long=True),
            DeadLetter("failed", disable=FAILING_TOO_LONG), id="failing too long disables a failure",
        ),
        pytest.param(
            status(500), target(), History(4, AT, failing_too_long=True),
            DeadLetter("exhausted", disable=FAILING_TOO_LONG), id="failing too long disables an exhausted one",
        ),
        pytest.param(
            status(500, "callback"), target("callback"), History(1, AT, failing_too_long=True),
            Retry(4 * S, AT + 4 * S), id="only webhooks are disabled for failing",
        ),
        pytest.param(
            status(500, "partner"), target("partner", schedule=(4,)), History(1, AT, failing_too_long=True),
            Retry(4 * S, AT + 4 * S), id="nor partner integrations",
        ),
    ],
)  # fmt: skip
def test_decision(
    result: AttemptResult, policy: Target, history: History, expected: DeliveryDecision
) -> None:
    assert decide(result, policy, history, rng=NoJitter()) == expected


@pytest.mark.parametrize(
    ("decision", "outcome"),
    [
        (Succeeded(), "succeeded"),
        (Retry(S, AT), "retry_scheduled"),
        (DeadLetter("failed"), "failed"),
        (DeadLetter("exhausted"), "exhausted"),
        (Disable("gone"), "failed"),
    ],
)
def test_each_decision_names_the_attempt_outcome_it_records(decision: DeliveryDecision, outcome: str) -> None:
    assert decision.outcome == outcome


def test_the_retry_delay_is_jittered_within_20_percent() -> None:
    rng = random.Random(7)
    delays = {decide(status(500), target(), History(1, AT), rng=rng) for _ in range(50)}
    waits = [d.delay.total_seconds() for d in delays if isinstance(d, Retry)]
    assert len(waits) == 50
    assert all(3.2 <= wait <= 4.8 for wait in waits)
    assert len(set(waits)) > 1


@pytest.mark.parametrize(
    ("result", "counts"),
    [(status(200), False), (status(410), False), (status(500), True), (status(400), True), (NETWORK, True)],
)
def test_which_results_count_against_the_endpoint(result: AttemptResult, counts: bool) -> None:
    assert result.endpoint_failed is counts
