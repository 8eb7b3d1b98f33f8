from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from switchboard_contracts.cloudevents import CloudEvent, CloudEventError
from switchboard_contracts.strict_json import MAX_DEPTH
from switchboard_testing.builders import cloud_event


def test_binary_mode_headers_carry_every_attribute() -> None:
    event = cloud_event(extensions={"traceparent": "00-abc-def-01"})

    headers = event.kafka_headers()

    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_id"] == event.id
    assert headers["ce_source"] == "/tests"
    assert headers["ce_type"] == "message.created"
    assert headers["ce_tenant"] == "tenant-1"
    assert headers["ce_subject"] == "conv-1"
    assert headers["ce_traceparent"] == "00-abc-def-01"
    assert headers["content-type"] == "application/json"
    assert headers["ce_time"].endswith("Z")


def test_binary_mode_key_is_the_partition_key() -> None:
    assert cloud_event(partitionkey="conv-42").kafka_key() == b"conv-42"


def test_binary_mode_round_trips() -> None:
    event = cloud_event(extensions={"traceparent": "x"})
    headers = event.kafka_header_list()

    decoded = CloudEvent.from_kafka(event.kafka_value(), headers)

    assert decoded == event


def test_structured_mode_is_accepted_on_input() -> None:
    envelope = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "//other-team/orders",
        "type": "conversation.created",
        "time": "2026-11-23T10:00:00Z",
        "tenant": "acme",
        "customext": "kept",
        "data": {"id": "c-1"},
    }

    event = CloudEvent.from_kafka(
        json.dumps(envelope).encode(), [("content-type", b"application/cloudevents+json")]
    )

    assert (event.id, event.type, event.tenant, event.data) == (
        "e-1",
        "conversation.created",
        "acme",
        {"id": "c-1"},
    )
    assert event.time == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert event.extensions == {"customext": "kept"}


def test_structured_output_parses_back() -> None:
    event = cloud_event()
    assert CloudEvent.from_structured(json.loads(json.dumps(event.structured()))) == event


def test_missing_type_is_named_in_the_error() -> None:
    headers = [("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_source", b"/x")]
    with pytest.raises(CloudEventError, match="attribute type"):
        CloudEvent.from_kafka(b"{}", headers)


def test_other_specversions_are_refused() -> None:
    with pytest.raises(CloudEventError, match="specversion"):
        CloudEvent.from_structured({"specversion": "0.3", "id": "1", "source": "/x", "type": "t"})


def test_invalid_json_data_is_an_error_not_a_crash() -> None:
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"1"),
        ("ce_source", b"/x"),
        ("ce_type", b"t"),
        ("content-type", b"application/json"),
    ]
    with pytest.raises(CloudEventError, match="not valid JSON"):
        CloudEvent.from_kafka(b"{nope", headers)


def test_a_record_wrapping_what_the_edge_accepted_decodes_and_an_absurdly_deep_one_is_an_error() -> None:
    """Records carry bodies the edge accepted at MAX_DEPTH inside their own levels: they must decode (an event
    refused here would be lost), while 1,000 levels are a CloudEventError, not a RecursionError."""
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"1"),
        ("ce_source", b"/x"),
        ("ce_type", b"t"),
        ("content-type", b"application/json"),
    ]
    wrapped = b'{"metadata": {"extra": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}}"
    assert isinstance(CloudEvent.from_kafka(wrapped, headers).data["metadata"]["extra"], list)
    with pytest.raises(CloudEventError, match="not valid JSON"):
        CloudEvent.from_kafka(b"[" * 1000 + b"]" * 1000, headers)
    envelope = json.dumps({"specversion": "1.0", "id": "1", "source": "/x", "type": "t"}).encode()
    deep_structured = envelope[:-1] + b', "data": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    with pytest.raises(CloudEventError, match="not JSON"):
        CloudEvent.from_kafka(deep_structured, [("content-type", b"application/cloudevents+json")])


def test_non_json_data_passes_through_as_bytes() -> None:
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"1"),
        ("ce_source", b"/x"),
        ("ce_type", b"t"),
        ("content-type", b"application/octet-stream"),
    ]
    assert CloudEvent.from_kafka(b"\x00\x01", headers).data == b"\x00\x01"


def test_extension_names_follow_the_spec() -> None:
    with pytest.raises(ValueError, match="extension attribute name"):
        cloud_event(extensions={"Bad-Name": "x"})


def test_the_header_list_is_the_header_dict_encoded_in_order() -> None:
    event = cloud_event(
        partitionkey="conv-1",
        dataschema="https://schemas.example/m.json",
        extensions={"sequence": "7"},
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        tracestate="vendor=1",
    )

    assert event.kafka_header_list() == [
        (name, value.encode()) for name, value in event.kafka_headers().items()
    ]


def test_binary_mode_header_names_are_case_insensitive_and_the_last_repeat_counts() -> None:
    headers: list[tuple[str, bytes | str]] = [
        ("CE_SpecVersion", b"1.0"),
        ("ce_id", b"first"),
        ("Ce_Id", b"second"),
        ("ce_source", "/x"),
        ("ce_type", b"t"),
        ("Content-Type", b"application/json"),
        ("ce_Sequence", b"7"),
        ("ce_not-an-attribute", b"skipped"),
        ("x-other", b"ignored"),
        ("TraceParent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    ]

    event = CloudEvent.from_kafka(b'{"a": 1}', headers)

    assert (event.id, event.source, event.data) == ("second", "/x", {"a": 1})
    assert event.extensions == {"sequence": "7"}
    assert event.traceparent == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert event.tracestate is None


def test_a_structured_record_keeps_the_trace_context_of_its_headers() -> None:
    envelope = {"specversion": "1.0", "id": "e-1", "source": "/s", "type": "t", "data": None}
    headers = [
        ("content-type", b"application/cloudevents+json; charset=utf-8"),
        ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("tracestate", b"vendor=1"),
    ]

    event = CloudEvent.from_kafka(json.dumps(envelope).encode(), headers)

    assert (event.id, event.traceparent, event.tracestate) == (
        "e-1",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "vendor=1",
    )


def test_a_record_without_a_specversion_header_is_read_as_structured() -> None:
    envelope = {"specversion": "1.0", "id": "e-2", "source": "/s", "type": "t"}

    event = CloudEvent.from_kafka(json.dumps(envelope).encode(), [("ce_id", b"ignored")])

    assert event.id == "e-2"
