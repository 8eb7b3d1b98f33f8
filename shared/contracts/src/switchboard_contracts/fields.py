"""Field types for what clients send, validated the same way by every service.

``DisplayName``: a name people read (a tenant, an API key, a webhook, an integration, an article title).
Control characters (C0 with NUL, C1), line and paragraph separators and invisible format characters (bidi
overrides and isolates, zero-width spaces, the BOM) are refused: they hide or reorder what a name shows — an
"invoice‮fdp.exe" in a dashboard, a NUL that truncates it in a log line. ZWJ and ZWNJ stay allowed: Persian,
the Indic scripts and emoji sequences need them.

``ClientDatetime``: a moment a client asks about (``since``/``until``), with a UTC offset and within
1970..2100. Python's datetime ends at year 9999 and arithmetic near either end overflows, so an unbounded
``until=9999-12-31T23:59:59Z`` was a 500; nothing Switchboard keeps is older than 1970 or later than 2100.

Both refuse with a pydantic error, which the services render as 422 ``validation_error`` naming the field.
A document read back from storage is validated with ``context=STORED``: a name stored before the check existed
still loads (refusing it there would turn every read of it into a 500); only what clients send is refused.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, ValidationInfo
from pydantic_core import PydanticCustomError

#: Unicode general categories a name may not contain: Cc (C0/C1 controls, NUL), Cf (format: bidi controls,
#: zero-width characters), Cs (lone surrogates), Zl/Zp (line and paragraph separators).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: Format characters scripts need: zero-width non-joiner and joiner.
_ALLOWED_FORMAT = frozenset({"\u200c", "\u200d"})


#: Validation context for stored documents: names are not checked again.
STORED: dict[str, Any] = {"stored": True}


def _plain_name(value: str, info: ValidationInfo) -> str:
    if isinstance(info.context, dict) and info.context.get("stored"):
        return value
    for character in value:
        if unicodedata.category(character) in _REFUSED_CATEGORIES and character not in _ALLOWED_FORMAT:
            raise PydanticCustomError(
                "deceptive_character",
                "must not contain control or invisible formatting characters (found U+{code})",
                {"code": f"{ord(character):04X}"},
            )
    if not value.strip():
        raise PydanticCustomError("blank_name", "must not be blank")
    return value


#: A name people read; combine with ``Field(min_length=…, max_length=…)`` for the length.
DisplayName = Annotated[str, AfterValidator(_plain_name)]

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _within_range(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise PydanticCustomError(
            "datetime_out_of_range",
            "must be between 1970-01-01T00:00:00Z and 2100-01-01T00:00:00Z",
        )
    return value


#: A moment a client sends: RFC 3339 with a UTC offset, within 1970..2100.
ClientDatetime = Annotated[AwareDatetime, AfterValidator(_within_range)]
