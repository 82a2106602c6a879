"""Exit 0 while this replica's heartbeat is fresh, 1 otherwise: `python -m sdp_beat.health`.

A standby replica is healthy: it is ready to take over.  Which replica leads is in the
platform-wide heartbeat the monitor reads.
"""

from __future__ import annotations

import sys

import redis

from sdp_beat.settings import BeatSettings
from sdp_core import keys
from sdp_core.connections import sync_client
from sdp_core.heartbeat import read_heartbeat
from sdp_core.settings import load_settings


def main() -> int:
    settings = load_settings(BeatSettings)
    client = sync_client(settings.redis_url, socket_timeout=3)
    try:
        beat = read_heartbeat(client, key=keys.beat_node(settings.node_name))
    except redis.RedisError as exc:
        print(f"beat: redis not answering: {exc}")
        return 1
    finally:
        client.close()
    if beat is None:
        print(f"beat: no heartbeat from {settings.node_name}")
        return 1
    role = "leading" if beat.leading else "standing by"
    print(
        f"beat: {beat.node} {role}, ticked {beat.age_s():.1f}s ago; "
        f"{beat.active} active and {beat.paused} paused schedules"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
