from __future__ import annotations

import pytest

from switchboard_ingress.domain.cloudevents_http import InvalidJson, parse_http_event


def test_binary_mode_reads_ce_headers() -> None:
    event = parse_http_event(
        b'{"a":1}',
        {
            "ce-specversion": "1.0",
            "ce-id": "1",
            "ce-source": "/s",
            "ce-type": "t",
            "ce-tenant": "x",
            "Content-Type": "application/json",
        },
    )
    assert (event.id, event.tenant, event.data) == ("1", "x", {"a": 1})


def test_structured_body_must_be_an_object() -> None:
    with pytest.raises(InvalidJson, match="JSON object"):
        parse_http_event(b"[1, 2]", {"content-type": "application/cloudevents+json"})


def test_invalid_json_raises_invalid_json() -> None:
    with pytest.raises(InvalidJson):
        parse_http_event(b"{", {"content-type": "application/cloudevents+json"})
