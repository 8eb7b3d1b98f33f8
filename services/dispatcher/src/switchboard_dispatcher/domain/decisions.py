"""What happens to a delivery after an attempt, as data: ``decide(result, policy, history)``.

The delivery engine makes an attempt, asks ``decide`` what it means and carries the answer out; every rule
about retrying, giving up and disabling lives here, in one pure function:

- ``Succeeded``: a 2xx. The task is settled.
- ``Retry``: a retryable failure with schedule left: the next attempt ``delay`` later (``at``) — through the
  durable schedule, or in the endpoint's lane for a FIFO endpoint (the schedule would let later tasks overtake).
- ``DeadLetter``: a failure not worth repeating (``failed``) or the schedule used up (``exhausted``): the task
  goes to the dead-letter topic, where ``recover`` finds it.
- ``Disable``: ``410 Gone``: the endpoint asked to stop. The task is dead-lettered as ``failed`` and the
  endpoint disabled.

A webhook that has been failing for longer than the disable period is disabled as well (``disable`` on a
``Retry`` or ``DeadLetter``): the task still follows its schedule, and its next attempt finds the endpoint
disabled and is dead-lettered as skipped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, Literal, Protocol

from switchboard_contracts.events import AttemptOutcome, EndpointKind
from switchboard_dispatcher.domain.policy import Outcome, Verdict, next_delay

FAILING_TOO_LONG = "failing continuously for longer than the disable period"


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one attempt produced: one request's answer, or a partner's API calls up to the first failure."""

    outcome: Outcome
    status: int | None = None
    response_body: str | None = None
    latency_ms: float = 0.0
    #: The receiver's ``Retry-After``, parsed.
    retry_after: timedelta | None = None
    #: For a partner delivery made of several API calls: the first one not done (where a retry resumes).
    step: int = 0

    @property
    def endpoint_failed(self) -> bool:
        """A failure that counts against the endpoint's health (a 410 is an answer, not a failure)."""
        return self.outcome.verdict is Verdict.RETRY or self.outcome.verdict is Verdict.FAIL


class RetryPolicy(Protocol):
    """What an endpoint says about retrying (a ``Target`` is one)."""

    @property
    def kind(self) -> EndpointKind: ...

    @property
    def retry_schedule(self) -> tuple[int, ...]: ...

    @property
    def ordered(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class History:
    """What is known about the delivery and its endpoint once the attempt is made."""

    #: The attempt just made (1-based).
    attempt: int
    attempted_at: datetime
    #: The endpoint has failed continuously for longer than the disable period (``EndpointHealth``).
    failing_too_long: bool = False


@dataclass(frozen=True, slots=True)
class Succeeded:
    outcome: ClassVar[AttemptOutcome] = "succeeded"


@dataclass(frozen=True, slots=True)
class Retry:
    delay: timedelta
    at: datetime
    #: Retry in the endpoint's lane (FIFO endpoints), not through the schedule.
    in_lane: bool = False
    #: Also disable the endpoint, for this reason.
    disable: str | None = None
    outcome: ClassVar[AttemptOutcome] = "retry_scheduled"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    outcome: Literal["failed", "exhausted"]
    #: Also disable the endpoint, for this reason.
    disable: str | None = None


@dataclass(frozen=True, slots=True)
class Disable:
    reason: str
    outcome: ClassVar[AttemptOutcome] = "failed"


DeliveryDecision = Succeeded | Retry | DeadLetter | Disable
SUCCEEDED = Succeeded()


def decide(
    result: AttemptResult, policy: RetryPolicy, history: History, *, rng: random.Random | None = None
) -> DeliveryDecision:
    """What to do after the attempt ``history`` describes; ``rng`` draws the retry's jitter."""
    verdict = result.outcome.verdict
    if verdict is Verdict.SUCCESS:
        return SUCCEEDED
    if verdict is Verdict.GONE:
        return Disable(result.outcome.error or "410 Gone")
    # Failing for long disables webhooks only; a 410 disables any endpoint.
    disable = FAILING_TOO_LONG if history.failing_too_long and policy.kind == "webhook" else None
    if verdict is Verdict.FAIL:
        return DeadLetter("failed", disable)
    delay = next_delay(policy.retry_schedule, history.attempt, retry_after=result.retry_after, rng=rng)
    if delay is None:
        return DeadLetter("exhausted", disable)
    # The wait counts from when the attempt ended, not from when it started (RFC 9110: Retry-After is relative to
    # the answer): a request that queued for a connection or answered slowly is not retried early.
    ended = history.attempted_at + timedelta(milliseconds=result.latency_ms)
    return Retry(delay, ended + delay, in_lane=policy.ordered, disable=disable)
