"""Generate docs/asyncapi.json — the Kafka contract — from the four services' FastStream brokers.

Run with ``make docs``. ``tests/unit/test_contract_docs.py`` fails when the committed document is stale, so the
contract other teams read is always the one the code implements.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from faststream.specification import AsyncAPI

from switchboard_ai_responder.main import create_app as create_ai_responder
from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_dispatcher.main import create_app as create_dispatcher
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_ingress.main import create_app as create_ingress
from switchboard_ingress.settings import IngressSettings
from switchboard_platform.settings import Environment
from switchboard_registry.main import create_app as create_registry
from switchboard_registry.settings import RegistrySettings

DOCUMENT = Path(__file__).with_name("asyncapi.json")
DESCRIPTION = """\
Switchboard's Kafka contract. Every record is a CloudEvents 1.0 event in binary mode: the context attributes
travel as `ce_*` headers (`ce_specversion`, `ce_id`, `ce_source`, `ce_type`, `ce_time`, optional `ce_subject`,
and the extensions `ce_tenant` and `ce_partitionkey`), `content-type` describes the value, the value is the
event data, and the record key is the partition key (the conversation or entity id). Consumers also accept
structured mode (`content-type: application/cloudevents+json`, the whole envelope as the value).
Other teams publish their domain events to `platform.events`; see docs/events.md.
"""


def build() -> dict[str, Any]:
    settings: dict[str, Any] = {"environment": Environment.TEST}
    apps = [
        create_ingress(IngressSettings(**settings)),
        create_registry(RegistrySettings(**settings)),
        create_dispatcher(DispatcherSettings(**settings)),
        create_ai_responder(AiResponderSettings(**settings)),
    ]
    brokers = [app.state.runtime.broker for app in apps]
    spec = AsyncAPI(*brokers, title="Switchboard", version="0.1.0", description=DESCRIPTION)
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    return document


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    DOCUMENT.write_text(render())
    sys.stdout.write(f"wrote {DOCUMENT}\n")
