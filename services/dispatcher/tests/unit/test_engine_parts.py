from __future__ import annotations

from switchboard_dispatcher.engine import Lane, PartitionWatermark


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
