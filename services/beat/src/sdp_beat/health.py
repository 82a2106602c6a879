"""Exit 0 while a beat heartbeat is fresh, 1 otherwise: `python -m sdp_beat.health`."""

from __future__ import annotations

import sys

import redis

from sdp_beat.heartbeat import read_heartbeat
from sdp_beat.settings import BeatSettings
from sdp_core.settings import load_settings


def main() -> int:
    settings = load_settings(BeatSettings)
    client = redis.Redis.from_url(str(settings.redis_url), socket_timeout=3)
    try:
        beat = read_heartbeat(client)
    except redis.RedisError as exc:
        print(f"beat: redis not answering: {exc}")
        return 1
    finally:
        client.close()
    if beat is None:
        print("beat: no heartbeat")
        return 1
    print(f"beat: {beat.node} ticked {beat.age_s():.1f}s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
