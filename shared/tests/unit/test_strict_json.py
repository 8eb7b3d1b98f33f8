"""The shared JSON decoder: every way a body can be unacceptable is an InvalidJson, never another exception."""

from __future__ import annotations

import json

import pytest

from switchboard_contracts.strict_json import MAX_DEPTH, InvalidJson, loads, loads_object, nesting_exceeds


def nested(depth: int, open_: bytes = b"[", close: bytes = b"]") -> bytes:
    return open_ * depth + close * depth


HOSTILE = {
    "1,000 levels of arrays": nested(1000),
    "1,000 levels of objects": b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "one level too deep": nested(MAX_DEPTH + 1),
    "deep but unbalanced": b"[" * 5000,
    "deep with closers first": b"]" + b"[" * 5000,
    "NaN": b'{"a": NaN}',
    "Infinity": b'{"a": -Infinity}',
    "a float that overflows": b'{"a": 1e400}',
    "an integer past the digit limit": b'{"a": ' + b"1" * 5000 + b"}",
    "invalid UTF-8": b'{"a": "\xff\xfe"}',
    "UTF-16": '{"a": 1}'.encode("utf-16"),
    "an unpaired surrogate escape": b'{"a": "\\ud800"}',
    "an unpaired surrogate escape in a key": b'{"\\udc00": 1}',
    "trailing data": b'{"a": 1} {"b": 2}',
    "empty": b"",
    "truncated": b'{"a": [1, 2',
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_unacceptable_json_is_invalid_json(body: bytes) -> None:
    with pytest.raises(InvalidJson):
        loads(body)


def test_invalid_json_is_a_json_decode_error_and_never_quotes_the_input() -> None:
    with pytest.raises(json.JSONDecodeError) as raised:
        loads(b'{"secret-ish": NaN}')
    assert "secret-ish" not in str(raised.value)


def test_the_reason_names_the_depth_limit() -> None:
    with pytest.raises(InvalidJson, match=f"nested deeper than {MAX_DEPTH} levels"):
        loads(nested(1000))


def test_exactly_max_depth_is_accepted() -> None:
    value = loads(nested(MAX_DEPTH))
    for _ in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == []


def test_brackets_inside_strings_are_text() -> None:
    body = json.dumps({"text": "[" * 5000 + '\\"' + "{" * 5000}).encode()
    assert loads(body)["text"].startswith("[[[")


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b'{"a": [{"b": [1, 2, {"c": null}]}, "x"], "d": {"e": "]]]]"}}', 5),
        (json.dumps([[i] for i in range(500)]).encode(), 2),
    ],
    ids=["mixed", "wide and shallow"],
)
def test_depth_is_measured_not_guessed(body: bytes, depth: int) -> None:
    assert (nesting_exceeds(body, depth - 1), nesting_exceeds(body, depth)) == (True, False)
    assert loads(body) == json.loads(body)


def test_ordinary_json_decodes_as_json_loads_does() -> None:
    body = '\ufeff{"a": [1, 2.5, -3e10, true, null], "b": "caf\u00e9 \\ud83d\\ude00", "c": {}}'.encode()
    assert loads(body) == {"a": [1, 2.5, -3e10, True, None], "b": "caf\u00e9 \U0001f600", "c": {}}


def test_loads_object_refuses_other_top_level_types() -> None:
    with pytest.raises(InvalidJson, match="JSON object"):
        loads_object(b"[1, 2]")
    assert loads_object(b'{"a": 1}') == {"a": 1}


AGREEMENT = {
    "integers at and past 64 bits": b"[9223372036854775807, 9223372036854775808, -9223372036854775809, "
    b"18446744073709551615, 18446744073709551616, 123456789012345678901234567890]",
    "a long integer inside an object": b'{"id": 123456789012345678901234567890, "n": 1}',
    "floats at the edges": b"[1.7976931348623157e308, 2.2250738585072014e-308, 5e-324, 1e-400, -0.0, 0.1, 1E2]",
    "a long mantissa": b"[0.12345678901234567890123, 3.141592653589793238462643383279]",
    "integers and floats kept apart": b'{"a": 1, "b": 1.0, "c": -0, "d": 10000000000}',
    "duplicate keys, the last wins": b'{"a": 1, "a": 2}',
    "escapes and non-ASCII": '{"\\u0000": "\\u00e9\\n\\t\\"", "caf\u00e9": "\\ud83d\\ude00 \u65e5\u672c"}'.encode(),
    "a byte-order mark": '\ufeff{"a": [true, false, null]}'.encode(),
    "a long digit run in a string": b'{"phone": "00000000000000000000001", "n": 5}',
    "whitespace around": b' \n\t{"a": []}\r\n ',
}


@pytest.mark.parametrize("body", AGREEMENT.values(), ids=AGREEMENT.keys())
def test_the_fast_path_decodes_exactly_as_the_standard_library(body: bytes) -> None:
    """orjson decodes most documents; the values (and their types: an int stays an int of every size) are
    the standard library's. The records other services and outside consumers read depend on it."""
    expected = json.loads(body.decode("utf-8-sig"))
    decoded = loads(body)
    assert decoded == expected
    assert repr(decoded) == repr(expected)  # int vs float, -0.0 vs 0.0
