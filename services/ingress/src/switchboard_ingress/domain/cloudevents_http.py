"""The CloudEvents HTTP protocol binding (structured and binary mode) as a pure parser.

Structured: ``Content-Type: application/cloudevents+json`` and the envelope as the body.
Binary: ``ce-*`` headers carry the attributes, the body is the JSON data.
https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchboard_contracts import strict_json
from switchboard_contracts.cloudevents import STRUCTURED_JSON, CloudEvent
from switchboard_contracts.strict_json import InvalidJson

__all__ = ["InvalidJson", "parse_http_event"]


def parse_http_event(body: bytes, headers: Mapping[str, str]) -> CloudEvent:
    """Parse one event; raises InvalidJson (400) or CloudEventError naming the attribute (422)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
    payload: Any = strict_json.loads(body) if body else None
    if content_type == STRUCTURED_JSON or "ce-specversion" not in lowered:
        if not isinstance(payload, dict):
            # The body's top-level type is wrong, like any other body that is not the JSON asked for: 400.
            raise InvalidJson(
                "a structured CloudEvent must be a JSON object (or send binary mode ce-* headers)"
            )
        return CloudEvent.from_structured(payload)
    kafka_style = [
        (name.replace("ce-", "ce_", 1), value) for name, value in lowered.items() if name.startswith("ce-")
    ]
    kafka_style.append(("content-type", content_type or "application/json"))
    return CloudEvent.from_kafka(body, kafka_style)
