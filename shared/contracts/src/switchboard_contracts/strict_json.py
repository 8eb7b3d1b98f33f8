"""The one JSON decoder for bytes that come from outside: request bodies and Kafka record values.

``json.loads`` accepts more than RFC 8259 and more than the services can carry. Each of these used to turn a
2 KB request into a 500, or into an event that breaks every consumer after it is published:

- nesting: the decoder recurses, so ~1,000 levels raise ``RecursionError`` (not a ``ValueError``), and a few
  hundred levels decode but later overflow pydantic's serializer, BSON or a consumer's own recursion;
- ``NaN``, ``Infinity`` and numbers that overflow to ``inf`` (``1e400``): not JSON, and serialized as ``null``
  or refused further down;
- unpaired UTF-16 surrogate escapes (``"\\ud800"``): decode to a ``str`` that cannot be encoded as UTF-8, so
  publishing or storing it fails;
- integers past Python's digit limit (4,300), bytes that are not UTF-8, trailing data.

Every one of them is an ``InvalidJson`` here, which is a ``json.JSONDecodeError`` so that code catching the
standard error (FastAPI's body parsing among it) treats it the same way.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any, Final

import orjson

#: How deeply arrays and objects may nest. Python's recursion limit (1,000 frames) is shared by everything that
#: walks a payload after us (pydantic, json.dumps, the BSON encoder, consumers in other services), and MongoDB
#: refuses documents nested more than 100 levels, with our own wrapping (state, event data) on top of the body.
#: No partner payload we receive nests more than about ten levels (shared/reference/platforms.md).
MAX_DEPTH: Final = 64
#: For records on our own topics (CloudEvents, config changes): they wrap what the edge accepted at MAX_DEPTH in a
#: few levels of their own (envelope, ``data``, ``state``, ``metadata``), and refusing one would lose an event.
RECORD_MAX_DEPTH: Final = 2 * MAX_DEPTH

# A JSON string: quote, then runs of ordinary characters or backslash escapes, then quote.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_A_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")
# What each byte of the bracket-only structure adds to the depth: "[" opens (+1), "]" closes (-1).
_STEP = tuple(1 if byte == ord("[") else -1 if byte == ord("]") else 0 for byte in range(256))
# 19 digits in a row: an integer orjson would turn into a float (beyond 64 bits) may be in the document.
# Found by marking digits 0xFF (a byte UTF-8 never uses) and a substring search: ~1 µs per KB, where the
# regular expression [0-9]{19} took ~15.
_DIGITS_MARKED = bytes.maketrans(b"0123456789", b"\xff" * 10)
_LONG_DIGITS = b"\xff" * 19
# \uD800-\uDFFF: a surrogate escape, which must come as a high/low pair to mean a character.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class InvalidJson(json.JSONDecodeError):
    """The bytes are not JSON the services accept. ``str(exc)`` is the reason; it never quotes the input."""

    def __init__(self, reason: str, doc: str = "", pos: int = 0) -> None:
        super().__init__(reason, doc, pos)
        self.args = (reason,)


def _refuse_constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJson("a number is out of range")
    return value


_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def nesting_exceeds(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the arrays and objects in ``data`` nest deeper than ``limit``, judged without decoding it.

    A body with no more opening brackets than ``limit`` cannot nest deeper, which spares most requests the rest.
    Otherwise strings are cut out (a bracket inside one is text) and the depth is the highest running count of
    opening minus closing brackets — computed by C iterators, linear in the size whatever the depth (about
    40 ms for 1 MB of brackets). For malformed input it is an upper bound on how deep ``json.loads`` would
    descend before failing."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    structure = _STRING.sub(b"", data).translate(_SQUARE, _NOT_A_BRACKET)
    return max(accumulate(map(_STEP.__getitem__, structure)), default=0) > limit


def loads(data: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode ``data`` (UTF-8, a leading byte-order mark tolerated) or raise ``InvalidJson`` saying why."""
    if nesting_exceeds(data, max_depth):
        raise InvalidJson(f"nested deeper than {max_depth} levels")
    if _LONG_DIGITS not in data.translate(_DIGITS_MARKED):
        # orjson (half the time for a 1 KB event) refuses everything the standard decoder below refuses (NaN,
        # overflowing floats, unpaired surrogates, bad UTF-8, trailing data) and agrees with it on everything
        # else, except that it turns integers beyond 64 bits into floats (documents with such digit runs take
        # the standard path) and refuses a byte-order mark. What it refuses, the standard decoder judges.
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return _standard_loads(data)


def _standard_loads(data: bytes) -> Any:
    """The standard library's decoder, with the refusals ``loads`` promises (depth checked by the caller)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidJson("not UTF-8", "", exc.start) from None
    try:
        value = _DECODER.decode(text)
    except InvalidJson:
        raise
    except json.JSONDecodeError as exc:
        raise InvalidJson(exc.msg, text, exc.pos) from None
    except ValueError:  # int() past sys.get_int_max_str_digits()
        raise InvalidJson("a number has too many digits") from None
    if _SURROGATE_ESCAPE.search(data) is not None:
        try:
            json.dumps(value, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise InvalidJson("a string contains an unpaired UTF-16 surrogate escape") from None
    return value


def loads_object(data: bytes) -> dict[str, Any]:
    """``loads`` for bodies that must be a JSON object."""
    value = loads(data)
    if not isinstance(value, dict):
        raise InvalidJson("the body must be a JSON object")
    return value
