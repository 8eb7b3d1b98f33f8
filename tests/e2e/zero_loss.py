"""What the zero-loss tests share: subscribing webhooks, and checking that every (event, webhook) pair arrived,
with any duplicate being the same delivery (same ``webhook-id``, same body)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_dispatcher.domain.tasks import delivery_id
from switchboard_testing.webhooks import Platform, Receiver


async def subscribe(
    platform: Platform, receiver: Receiver, hooks: Iterable[str], host: str, max_in_flight: int
) -> None:
    """Each hook a catch-all webhook of tenant ``acme`` at ``receiver``, under a name resolving to loopback."""
    for hook in hooks:
        await platform.webhook(
            hook,
            "acme",
            receiver.url(hook, host=host),
            ["*"],
            delivery={"max_in_flight": max_in_flight, "rate_limit_per_minute": 1_000_000},
        )


def received(receiver: Receiver) -> int:
    return sum(len(requests) for requests in receiver.requests.values())


def expected_ids(events: Iterable[CloudEvent], hooks: Iterable[str]) -> dict[str, set[str]]:
    events = list(events)
    return {hook: {delivery_id(e.source, e.id, "webhook", hook) for e in events} for hook in hooks}


def complete(receiver: Receiver, expected: dict[str, set[str]]) -> bool:
    return all(
        {request.headers["webhook-id"] for request in receiver.requests[f"/{hook}"]} >= ids
        for hook, ids in expected.items()
    )


def check(receiver: Receiver, expected: dict[str, set[str]]) -> dict[str, dict[str, int]]:
    """Assert exactly the expected deliveries arrived, duplicates identical; return the counts per hook."""
    report = {}
    for hook, ids in expected.items():
        requests = receiver.requests[f"/{hook}"]
        bodies: dict[str, set[bytes]] = defaultdict(set)
        for request in requests:
            bodies[request.headers["webhook-id"]].add(request.body)
        assert set(bodies) == ids
        assert all(len(variants) == 1 for variants in bodies.values())
        counts = Counter(request.headers["webhook-id"] for request in requests)
        report[hook] = {
            "requests": len(requests),
            "distinct": len(counts),
            "duplicates": len(requests) - len(counts),
        }
    return report
