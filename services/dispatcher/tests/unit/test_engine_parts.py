from __future__ import annotations

import uuid

from switchboard_dispatcher.domain.lanes import Lane, PartitionWatermark
from switchboard_dispatcher.domain.tasks import _NAMESPACE, delivery_id


def test_watermark_commits_only_the_settled_prefix() -> None:
    watermark = PartitionWatermark()
    for offset in range(10, 15):
        watermark.add(offset)
    watermark.settle(12)
    watermark.settle(11)
    assert watermark.committable() is None  # 10 is still open
    watermark.settle(10)
    assert watermark.committable() == 13
    assert watermark.unsettled == 2


def test_rate_window_allows_n_starts_per_60_seconds() -> None:
    lane = Lane("webhook:x", rate_per_minute=3)
    for moment in (0.0, 1.0, 2.0):
        assert lane.rate_slot_in(moment) == 0
        lane.starts.append(moment)
    assert lane.rate_slot_in(30.0) == 30.0  # the first start leaves the window at 60 s
    assert lane.rate_slot_in(60.0) == 0


def test_delivery_ids_are_the_uuid5_of_event_and_endpoint() -> None:
    # Delivery ids must never change between versions: receivers deduplicate on them across upgrades.
    for source, event_id, endpoint in [("/switchboard/ingress", "evt-1", "w1"), ("//x", "é" * 40, "hook-ü")]:
        expected = "msg_" + uuid.uuid5(_NAMESPACE, f"{source}|{event_id}|webhook:{endpoint}").hex
        assert delivery_id(source, event_id, "webhook", endpoint) == expected
    assert (
        delivery_id("/switchboard/ingress", "evt-1", "webhook", "w1")
        == "msg_3ca7bf8ef76a5b60bfbed94fb3a9f30f"
    )
    assert delivery_id("/s", "e", "webhook", "a") != delivery_id("/s", "e", "callback", "a")
