"""What the fan-out and the delivery engine need from the outside world, as small protocols.

Each has one real adapter (``ConfigView``, ``HttpSender``, ``Schedule``, ``EndpointHealth``) and fakes in the
tests, so the stages' logic runs in memory (with ``switchboard_testing.memory_kafka``) as well as over
real Kafka, MongoDB and HTTP.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import EndpointKind
from switchboard_dispatcher.adapters.http import Response
from switchboard_dispatcher.domain.targets import Target
from switchboard_dispatcher.domain.tasks import DeliveryTask


class Targets(Protocol):
    """The subscribed endpoints (the config view)."""

    def targets_for(self, event: CloudEvent) -> list[Target]:
        """Every active endpoint subscribed to ``event``."""
        ...

    def target(self, kind: EndpointKind, endpoint_id: str) -> Target | None:
        """The endpoint, or None when it is deleted, inactive or disabled."""
        ...

    def disable_locally(self, kind: EndpointKind, endpoint_id: str) -> None:
        """Stop delivering to the endpoint now, before the registry's record of it says so."""
        ...


class Sender(Protocol):
    async def send(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float, method: str = "POST"
    ) -> Response:
        """A Response for any HTTP answer; ``SendError`` (with its kind) for everything else."""
        ...


class Deferrals(Protocol):
    async def defer(self, items: list[tuple[DeliveryTask, datetime]]) -> None:
        """Store tasks due later, durably; raises ``PyMongoError`` when the store is unavailable."""
        ...


class Health(Protocol):
    async def succeeded(self, key: str) -> None: ...

    async def failed(self, key: str, now: datetime | None = None) -> bool:
        """Record a failure; True when the endpoint has now failed continuously for the disable period."""
        ...
