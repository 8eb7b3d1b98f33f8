"""The dispatcher's config view alone, in a process of its own: catch-up time and memory.

``python -m bench.scale.follow --bootstrap HOST:PORT --topic NAME`` follows the compacted config topic with the
dispatcher's own ``ConfigFollower`` and ``ConfigView`` (what ``switchboard_dispatcher.main`` wires at start-up),
and prints one JSON line: records applied, seconds from ``start()`` to caught up, CPU seconds, and this process's
RSS before, once caught up, and once every webhook's target was resolved (secret decrypted and cached, as after
each webhook's first delivery). Everything is imported before the first RSS reading, so the differences are the
view's own.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

import uvloop

from switchboard_contracts.config_records import ConfigRecord, Entity
from switchboard_dispatcher.view import ConfigView
from switchboard_platform.config_follower import ConfigFollower
from switchboard_platform.settings import Environment, ServiceSettings


def rss_mib() -> float:
    """This process's resident set size, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class CountingView(ConfigView):
    """The dispatcher's view, counting the records the follower applies to it."""

    applied = 0

    def apply(self, entity: Entity, entity_id: str, version: int | None, record: ConfigRecord | None) -> bool:
        self.applied += 1
        return super().apply(entity, entity_id, version, record)


async def follow(bootstrap: str, topic: str, timeout_s: float) -> dict[str, float]:
    view = CountingView(ServiceSettings(environment=Environment.TEST).secrets_box())
    follower = ConfigFollower(
        bootstrap=bootstrap,
        topic=topic,
        view=view,
        client_id="switchboard-dispatcher-config",
        catch_up_timeout_s=timeout_s,
    )
    gc.collect()
    before = rss_mib()
    cpu, wall = time.process_time(), time.perf_counter()
    await follower.start()
    catch_up_s, catch_up_cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    gc.collect()
    caught_up = rss_mib()
    webhooks = list(view.webhooks.records)
    cpu = time.process_time()
    resolved = sum(view.target("webhook", webhook_id) is not None for webhook_id in webhooks)
    resolve_cpu_s = time.process_time() - cpu
    gc.collect()
    result = {
        "records": view.applied,
        "webhooks": len(webhooks),
        "catch_up_s": round(catch_up_s, 3),
        "catch_up_cpu_s": round(catch_up_cpu_s, 3),
        "rss_before_mib": round(before, 1),
        "rss_caught_up_mib": round(caught_up, 1),
        "targets_resolved": resolved,
        "resolve_cpu_us_per_webhook": round(resolve_cpu_s / max(len(webhooks), 1) * 1e6, 1),
        "rss_resolved_mib": round(rss_mib(), 1),
    }
    await follower.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale.follow", description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    # The dispatcher runs on uvloop under uvicorn.
    result = uvloop.run(follow(args.bootstrap, args.topic, args.timeout))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
