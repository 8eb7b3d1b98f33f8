"""Publishing dispatcher commands (send test, redeliver, recover) as CloudEvents keyed by endpoint id."""

from __future__ import annotations

from faststream.kafka.publisher import DefaultPublisher

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import CommandType, Payload
from switchboard_platform.kafka import publish_event

SOURCE = "/switchboard/registry"


async def send_command(
    publisher: DefaultPublisher, kind: CommandType, tenant_id: str, endpoint_id: str, payload: Payload
) -> CloudEvent:
    event = CloudEvent(
        source=SOURCE,
        type=kind,
        tenant=tenant_id,
        partitionkey=endpoint_id,
        subject=endpoint_id,
        data=payload,
    )
    await publish_event(publisher, event)
    return event
