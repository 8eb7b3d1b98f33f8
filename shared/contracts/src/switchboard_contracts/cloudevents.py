"""The CloudEvents 1.0 envelope Switchboard's topics carry, and its Kafka protocol binding.

Producers write **binary mode**: the record value is the event data (JSON), the context attributes travel as
``ce_*`` headers, ``content-type`` says what the value is, and the record key is the ``partitionkey``
extension. Consumers also accept **structured mode** (``content-type: application/cloudevents+json`` and the
whole envelope in the value), so another team's producer can use whichever its SDK makes easy.

Spec: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md
"""

from __future__ import annotations

import builtins
import os
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import to_json

from switchboard_contracts import strict_json
from switchboard_contracts.timestamps import utc_z

SPECVERSION: Final = "1.0"
JSON: Final = "application/json"
STRUCTURED_JSON: Final = "application/cloudevents+json"
_HEADER_PREFIX: Final = "ce_"
_CONTENT_TYPE: Final = "content-type"
# CloudEvents attribute names: lower-case letters and digits only, at most 20 characters recommended.
_ATTRIBUTE_NAME = re.compile(r"^[a-z0-9]{1,20}$")
M = TypeVar("M", bound=BaseModel)
_CORE: Final = frozenset(
    {"id", "source", "type", "specversion", "time", "subject", "datacontenttype", "dataschema"}
)
# W3C Trace Context headers.
TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
#: What a binary-mode record's header (lower-case name) holds, when it is not an extension: a context attribute
#: (``ce_<name>``, keyed by the attribute), the data's type or the trace context (keyed by the header's name).
_HEADER_KEYS: Final = {
    **{_HEADER_PREFIX + name: name for name in _CORE | {"tenant", "partitionkey"}},
    **{name: name for name in (_CONTENT_TYPE, TRACEPARENT, TRACESTATE)},
}
_BYTES: Final = (bytes, bytearray)

#: Writes W3C Trace Context into outgoing ``headers``, given the context the event carries.
TraceInjector = Callable[[dict[str, str], str | None, str | None], None]


def pass_trace_context(headers: dict[str, str], traceparent: str | None, tracestate: str | None) -> None:
    """Add the event's own ``traceparent`` (and ``tracestate``): an event passed on unchanged keeps the context
    it arrived with. What ``kafka_headers`` does while no tracing is installed."""
    if traceparent is not None:
        headers[TRACEPARENT] = traceparent
        if tracestate is not None:
            headers[TRACESTATE] = tracestate


def trace_context(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(traceparent, tracestate) of lower-cased incoming headers (W3C Trace Context)."""
    return headers.get(TRACEPARENT), headers.get(TRACESTATE)


_inject_trace: TraceInjector = pass_trace_context


def use_trace_injector(inject: TraceInjector | None) -> None:
    """How ``kafka_headers`` writes trace context. The platform's tracing (switchboard_platform.telemetry)
    installs one that prefers the current span; None restores ``pass_trace_context``."""
    # The process's one propagation hook, read on every produced record.
    global _inject_trace
    _inject_trace = inject if inject is not None else pass_trace_context


class CloudEventError(ValueError):
    """A Kafka record that is not a valid CloudEvent. The message says what is wrong, never the payload."""


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event with Switchboard's extensions.

    ``tenant`` (extension) scopes the event to one tenant; ``partitionkey`` (the Partitioning extension) is the
    Kafka record key — the aggregate id, usually the conversation id. Other extensions ride in ``extensions``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # 128 random bits as 32 hex digits, like uuid4().hex at a quarter of its cost (every attempt makes an event).
    id: str = Field(
        default_factory=lambda: os.urandom(16).hex(), min_length=1, description="Unique per source."
    )
    source: str = Field(min_length=1, description="URI-reference of the producer, e.g. /switchboard/ingress.")
    type: str = Field(min_length=1, description="Event type from the catalog, e.g. message.received.")
    specversion: str = SPECVERSION
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = Field(default=None, description="What the event is about within the source.")
    datacontenttype: str = JSON
    dataschema: str | None = None
    tenant: str | None = Field(default=None, description="Extension: the tenant the event belongs to.")
    partitionkey: str | None = Field(default=None, description="Extension: Kafka key (aggregate id).")
    extensions: dict[str, str] = Field(default_factory=dict)
    data: Any = None
    #: The W3C trace context the record arrived with (its ``traceparent`` / ``tracestate`` headers): where this
    #: event's handling continues the trace. Transport, not event: never in the envelope, the event log or a
    #: delivered payload; ``kafka_headers`` passes it on when no span is current (switchboard_platform.telemetry).
    #: (The CloudEvents distributed-tracing extension, when a producer sets it, stays in ``extensions``.)
    traceparent: SkipJsonSchema[str | None] = Field(default=None, exclude=True, repr=False)
    tracestate: SkipJsonSchema[str | None] = Field(default=None, exclude=True, repr=False)

    @field_validator("specversion")
    @classmethod
    def _only_v1(cls, value: str) -> str:
        if value != SPECVERSION:
            raise ValueError(f"unsupported specversion {value!r}; expected {SPECVERSION!r}")
        return value

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @field_validator("extensions")
    @classmethod
    def _extension_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _ATTRIBUTE_NAME.match(name) or name in _CORE or name in {"tenant", "partitionkey"}:
                raise ValueError(f"invalid extension attribute name {name!r}")
        return value

    def data_as(self, model: builtins.type[M]) -> M:
        """Validate ``data`` as ``model`` (raises pydantic's ValidationError naming the field)."""
        return model.model_validate(self.data)

    # -- Kafka binding -----------------------------------------------------------------------------------------

    def kafka_key(self) -> bytes | None:
        return self.partitionkey.encode() if self.partitionkey else None

    def kafka_headers(self) -> dict[str, str]:
        """Binary-mode headers: every context attribute as ``ce_<name>``, the data's type as content-type, the
        trace context as W3C ``traceparent`` / ``tracestate``."""
        return {name: value.decode() for name, value in self.kafka_header_list()}

    def kafka_header_list(self) -> list[tuple[str, bytes]]:
        """The binary-mode headers as a Kafka client takes them: (name, UTF-8 bytes) pairs. Every produced record
        pays for this, so the pairs are built directly (``kafka_headers`` is the same as a dict)."""
        pairs = [
            ("ce_specversion", self.specversion.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", _format_time(self.time).encode()),
            (_CONTENT_TYPE, self.datacontenttype.encode()),
        ]
        for name, value in (
            ("ce_subject", self.subject),
            ("ce_dataschema", self.dataschema),
            ("ce_tenant", self.tenant),
            ("ce_partitionkey", self.partitionkey),
        ):
            if value is not None:
                pairs.append((name, value.encode()))
        for name, value in self.extensions.items():
            pairs.append((_HEADER_PREFIX + name, value.encode()))
        trace: dict[str, str] = {}
        _inject_trace(trace, self.traceparent, self.tracestate)
        pairs.extend((name, value.encode()) for name, value in trace.items())
        return pairs

    def kafka_value(self) -> bytes:
        """Binary-mode value: the data itself. JSON data is encoded compactly; bytes pass through."""
        if isinstance(self.data, bytes | bytearray):
            return bytes(self.data)
        if self.data is None:
            return b""
        if isinstance(self.data, BaseModel):
            # Straight from the model to compact JSON in pydantic-core, the same bytes as dumping then encoding.
            return self.data.__pydantic_serializer__.to_json(self.data, by_alias=True, exclude_none=True)
        return to_json(self.data)

    def structured(self) -> dict[str, Any]:
        """The structured-mode JSON envelope (also what the HTTP binding's structured mode carries)."""
        envelope: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": _format_time(self.time),
            "datacontenttype": self.datacontenttype,
        }
        for name in ("subject", "dataschema", "tenant", "partitionkey"):
            value = getattr(self, name)
            if value is not None:
                envelope[name] = value
        envelope.update(self.extensions)
        envelope["data"] = _jsonable(self.data)
        return envelope

    @classmethod
    def from_structured(cls, envelope: Mapping[str, Any]) -> Self:
        """Parse a structured-mode envelope; unknown top-level attributes become extensions."""
        if not isinstance(envelope, Mapping):
            raise CloudEventError("structured CloudEvent must be a JSON object")
        known = _CORE | {"tenant", "partitionkey", "data"}
        fields = {k: v for k, v in envelope.items() if k in known}
        if "data_base64" in envelope:
            raise CloudEventError("data_base64 is not supported; send JSON data")
        extensions = {k: str(v) for k, v in envelope.items() if k not in known}
        return cls._validated({**fields, "extensions": extensions})

    @classmethod
    def from_kafka(
        cls, value: bytes | None, headers: Iterable[tuple[str, bytes | str]] | Mapping[str, Any]
    ) -> Self:
        """Decode a Kafka record in either binary or structured mode."""
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        # One pass over the headers, each name lower-cased once (every consumed record pays for this): the
        # context attributes, the extensions, the content type and the trace context. A repeated header: the
        # last one counts.
        fields: dict[str, Any] = {}
        extensions: dict[str, str] = {}
        for raw_name, raw_value in pairs:
            text = raw_value.decode() if isinstance(raw_value, _BYTES) else str(raw_value)
            key = _HEADER_KEYS.get(raw_name)
            if key is None:
                name = raw_name.lower()
                key = _HEADER_KEYS.get(name)
                if key is None:
                    attr = name.removeprefix(_HEADER_PREFIX)
                    if attr != name and _ATTRIBUTE_NAME.match(attr):
                        extensions[attr] = text
                    continue
            fields[key] = text
        content_type = fields.pop(_CONTENT_TYPE, "")
        traceparent = fields.pop(TRACEPARENT, None)
        tracestate = fields.pop(TRACESTATE, None)
        if content_type.split(";")[0].strip() == STRUCTURED_JSON or "specversion" not in fields:
            # Structured mode (or a producer that set no headers at all): the value is the envelope.
            try:
                envelope = strict_json.loads(value or b"", max_depth=strict_json.RECORD_MAX_DEPTH)
            except strict_json.InvalidJson as exc:
                raise CloudEventError(f"structured CloudEvent value is not JSON: {exc}") from None
            event = cls.from_structured(envelope)
            if traceparent is None:
                return event
            return event.model_copy(update={"traceparent": traceparent, "tracestate": tracestate})

        content_type = content_type or JSON
        fields["datacontenttype"] = content_type
        fields["data"] = _decode_data(value, content_type)
        fields["traceparent"] = traceparent
        fields["tracestate"] = tracestate
        fields["extensions"] = extensions
        return cls._validated(fields)

    @classmethod
    def _validated(cls, fields: dict[str, Any]) -> Self:
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "event"
            raise CloudEventError(f"invalid CloudEvent attribute {where}: {first['msg']}") from None


def _decode_data(value: bytes | None, content_type: str) -> Any:
    if not value:
        return None
    media = content_type.split(";")[0].strip().lower()
    if media == JSON or media.endswith("+json"):
        try:
            return strict_json.loads(value, max_depth=strict_json.RECORD_MAX_DEPTH)
        except strict_json.InvalidJson as exc:
            raise CloudEventError(f"event data is not valid JSON: {exc}") from None
    return value


def _format_time(value: datetime) -> str:
    return utc_z(value)


def _jsonable(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data
