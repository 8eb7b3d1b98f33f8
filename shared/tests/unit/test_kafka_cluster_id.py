"""The KRaft cluster id infra.sh formats a new broker's storage with (``kafka_admin cluster-id FILE``)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from switchboard_platform.kafka_admin import main, new_cluster_id, stored_cluster_id, valid_cluster_id

# 0xf8 = 0b111110_00: the first base64 character encodes 62, which is '-' in the url-safe alphabet.
DASH_FIRST = b"\xf8" + bytes(range(1, 16))
PLAIN = bytes(range(16, 32))


def draws(*values: bytes) -> Callable[[int], bytes]:
    remaining: Iterator[bytes] = iter(values)
    return lambda size: next(remaining)[:size]


def test_an_id_whose_encoding_starts_with_a_dash_is_drawn_again() -> None:
    assert base64.urlsafe_b64encode(DASH_FIRST).decode().startswith("-")
    cluster_id = new_cluster_id(draws(DASH_FIRST, PLAIN))
    assert cluster_id == base64.urlsafe_b64encode(PLAIN).decode().rstrip("=")


def test_new_ids_are_kafka_uuids() -> None:
    cluster_id = new_cluster_id()
    assert len(cluster_id) == 22
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_validity() -> None:
    good = base64.urlsafe_b64encode(PLAIN).decode().rstrip("=")
    assert valid_cluster_id(good)
    assert not valid_cluster_id(base64.urlsafe_b64encode(DASH_FIRST).decode().rstrip("="))
    assert not valid_cluster_id(good[:-1])
    assert not valid_cluster_id(good + "A")
    assert not valid_cluster_id("")
    assert not valid_cluster_id("!" * 22)


def test_a_stored_id_is_kept(tmp_path: Path) -> None:
    stored = tmp_path / "cluster.id"
    first = stored_cluster_id(stored)
    assert stored.read_text() == first + "\n"
    assert stored_cluster_id(stored) == first


def test_a_stored_id_the_storage_tool_refuses_is_replaced(tmp_path: Path) -> None:
    """An id starting with '-' (written by an older infra.sh) made every start fail until `make clean`."""
    stored = tmp_path / "cluster.id"
    stored.write_text(base64.urlsafe_b64encode(DASH_FIRST).decode().rstrip("=") + "\n")
    replaced = stored_cluster_id(stored, draws(PLAIN))
    assert replaced == base64.urlsafe_b64encode(PLAIN).decode().rstrip("=")
    assert stored.read_text() == replaced + "\n"


def test_cli_prints_the_id_it_stores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stored = tmp_path / "cluster.id"
    assert main(["cluster-id", str(stored)]) == 0
    assert capsys.readouterr().out == stored.read_text()
