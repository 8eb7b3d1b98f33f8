"""The shared field types: display names without control or invisible formatting characters, and client
datetimes with an offset within 1970..2100. Nothing here needs a service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, Field, ValidationError

from switchboard_contracts.fields import STORED, ClientDatetime, DisplayName


class Named(BaseModel):
    name: DisplayName = Field(min_length=1, max_length=200)


class Window(BaseModel):
    since: ClientDatetime


@pytest.mark.parametrize(
    "name",
    [
        "Acme Support",
        "Ünïcødé GmbH",
        "東京サポート",
        "دعم العملاء",  # right-to-left script, no override characters
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian needs the zero-width non-joiner
        "👩\u200d💻 team",  # an emoji sequence with a zero-width joiner
        "  padded  ",
    ],
)
def test_real_names_are_accepted(name: str) -> None:
    assert Named(name=name).name == name


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("nul\x00byte", "0000"),
        ("bell\x07", "0007"),
        ("tab\there", "0009"),
        ("new\nline", "000A"),
        ("escape\x1b[31m", "001B"),
        ("delete\x7f", "007F"),
        ("c1\x85next-line", "0085"),
        ("c1\x9bcsi", "009B"),
        ("invoice\u202efdp.exe", "202E"),  # right-to-left override
        ("\u202aembedding", "202A"),
        ("\u202bembedding", "202B"),
        ("pop\u202c", "202C"),
        ("\u202doverride", "202D"),
        ("\u2066isolate", "2066"),
        ("\u2067isolate", "2067"),
        ("\u2068isolate", "2068"),
        ("isolate\u2069", "2069"),
        ("\u200emark", "200E"),
        ("\u200fmark", "200F"),
        ("zero\u200bwidth", "200B"),
        ("\ufeffbom", "FEFF"),
        ("soft\u00adhyphen", "00AD"),
        ("word\u2060joiner", "2060"),
        ("line\u2028separator", "2028"),
        ("paragraph\u2029separator", "2029"),
        ("tag\U000e0041", "E0041"),
    ],
)
def test_control_and_invisible_format_characters_are_refused(name: str, code: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Named(name=name)
    (error,) = raised.value.errors()
    assert error["loc"] == ("name",)
    assert error["msg"] == f"must not contain control or invisible formatting characters (found U+{code})"


@pytest.mark.parametrize("name", [" ", "\u3000", " \u00a0 "])
def test_blank_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="must not be blank"):
        Named(name=name)


def test_stored_names_load_as_they_are() -> None:
    assert Named.model_validate({"name": "old\x00name"}, context=STORED).name == "old\x00name"


@pytest.mark.parametrize(
    "value",
    [
        "1970-01-01T00:00:00Z",
        "2026-12-05T10:00:00+05:30",
        "2099-12-31T15:59:59-08:00",
        "2100-01-01T00:00:00Z",
    ],
)
def test_datetimes_in_range_are_accepted(value: str) -> None:
    assert Window(since=value).since.tzinfo is not None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:01Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-14:00",
    ],
)
def test_datetimes_out_of_range_are_refused(value: str) -> None:
    with pytest.raises(
        ValidationError, match="must be between 1970-01-01T00:00:00Z and 2100-01-01T00:00:00Z"
    ):
        Window(since=value)  # type: ignore[arg-type]


def test_datetimes_need_an_offset() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Window(since=datetime(2026, 1, 1))  # noqa: DTZ001 - the naive datetime is the point
    assert Window(since=datetime(2026, 1, 1, tzinfo=UTC)).since.year == 2026
