"""One attempt's HTTP exchange and what came back (an ``AttemptResult``): a signed request to a subscribed
endpoint, or a partner's API calls (several for a handoff), resumed at the first one not yet done."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import datetime

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_dispatcher.adapters.http import SendError
from switchboard_dispatcher.domain.decisions import AttemptResult
from switchboard_dispatcher.domain.partners import USER_AGENT as PARTNER_USER_AGENT
from switchboard_dispatcher.domain.partners import MissingCredential, requests_for
from switchboard_dispatcher.domain.payloads import build_request
from switchboard_dispatcher.domain.policy import Outcome, Verdict, judge_status, parse_retry_after
from switchboard_dispatcher.domain.targets import Target
from switchboard_dispatcher.domain.tasks import DeliveryTask
from switchboard_dispatcher.ports import Sender


def send_attempt(
    sender: Sender, target: Target, event: CloudEvent, task: DeliveryTask, now: datetime
) -> Awaitable[AttemptResult | None]:
    """Make the attempt; None when a partner integration has nothing to call for this event (a provider
    without that action). Returns the sender's coroutine itself: no extra await per attempt."""
    if target.kind == "partner":
        return _send_partner(sender, target, event, task, now)
    return _send_one(sender, target, event, task, now)


async def _send_one(
    sender: Sender, target: Target, event: CloudEvent, task: DeliveryTask, now: datetime
) -> AttemptResult:
    body, headers = build_request(target, event, task.delivery_id, task.attempt, now)
    try:
        response = await sender.send(target.url, body, headers, target.timeout_s)
    except SendError as exc:
        return _send_failed(exc, 0.0, 0)
    return AttemptResult(
        judge_status(response.status, target.kind),
        response.status,
        response.body,
        response.latency_ms,
        parse_retry_after(response.headers.get("retry-after"), now),
    )


async def _send_partner(
    sender: Sender, target: Target, event: CloudEvent, task: DeliveryTask, now: datetime
) -> AttemptResult | None:
    """Call the partner's API for this event, request by request from ``task.step``; stop at the first
    failure, reporting its index so the retry resumes there."""
    try:
        requests = requests_for(target.provider or "", target.credentials, event)
    except MissingCredential as exc:
        return AttemptResult(Outcome(Verdict.FAIL, "other", str(exc)), step=task.step)
    if not requests:
        return None
    latency = 0.0
    status: int | None = None
    response_body: str | None = None
    for index in range(task.step, len(requests)):
        request = requests[index]
        body = json.dumps(request.body, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": PARTNER_USER_AGENT,
            **request.headers,
        }
        try:
            response = await sender.send(request.url, body, headers, target.timeout_s, method=request.method)
        except SendError as exc:
            return _send_failed(exc, latency, index)
        latency += response.latency_ms
        status, response_body = response.status, response.body
        outcome = judge_status(response.status, "partner")
        if outcome.verdict is Verdict.GONE:
            # A partner API's 410 is about the conversation, not a reason to disable the integration.
            outcome = Outcome(Verdict.FAIL, outcome.error_kind, f"{request.purpose}: HTTP 410")
        if outcome.verdict is not Verdict.SUCCESS:
            error = f"{request.purpose} ({index + 1}/{len(requests)}): {outcome.error}"
            return AttemptResult(
                Outcome(outcome.verdict, outcome.error_kind, error),
                response.status,
                response.body,
                latency,
                parse_retry_after(response.headers.get("retry-after"), now),
                index,
            )
    return AttemptResult(Outcome(Verdict.SUCCESS), status, response_body, latency, step=len(requests))


def _send_failed(error: SendError, latency_ms: float, step: int) -> AttemptResult:
    """No answer (network, timeout) or a refused address: the latter is not worth retrying."""
    verdict = Verdict.FAIL if error.kind == "ssrf_blocked" else Verdict.RETRY
    return AttemptResult(
        Outcome(verdict, error.kind, error.message), latency_ms=latency_ms + error.latency_ms, step=step
    )
