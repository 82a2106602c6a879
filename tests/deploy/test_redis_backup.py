"""The backup and restore of docs/operations.md, step by step, on real redis-server processes.

Backup: `redis-cli --rdb` takes a snapshot from a live server. Restore: the snapshot as
`dump.rdb` in an empty data directory, Redis started with `--appendonly no` (with AOF on, Redis
ignores an RDB file and would start empty), `CONFIG SET appendonly yes` to write the AOF from
the loaded data, then the usual configuration again.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from sdp_core import keys
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_testing.redis_server import free_port, redis_server_args, wait_for_redis

SCHEDULES = 50


@contextmanager
def server(binary: str, workdir: Path, *, appendonly: bool) -> Iterator[redis.Redis]:
    port = free_port()
    process = subprocess.Popen(
        redis_server_args(binary, port, str(workdir), appendonly=appendonly),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        wait_for_redis(url)
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def dataset(client: redis.Redis) -> dict[bytes, bytes]:
    """Every key's serialized value: equal dicts mean equal data."""
    return {key: client.dump(key) for key in client.scan_iter(count=1_000)}  # type: ignore[misc]


def wait_for_aof_rewrite(client: redis.Redis) -> None:
    deadline = time.monotonic() + 10
    while True:
        info = client.info("persistence")
        busy = info["aof_rewrite_in_progress"] or info.get("aof_rewrite_scheduled")
        if info["aof_enabled"] and not busy:
            assert info["aof_last_bgrewrite_status"] == "ok", info
            return
        assert time.monotonic() < deadline, f"AOF rewrite did not finish: {info}"
        time.sleep(0.05)


def test_a_backup_restores_every_key_and_the_schedules_read_back(
    redis_server_path: str, tmp_path: Path
) -> None:
    redis_cli = shutil.which("redis-cli") or str(Path(redis_server_path).with_name("redis-cli"))
    live, restored = tmp_path / "live", tmp_path / "restored"
    live.mkdir()
    restored.mkdir()
    backup = tmp_path / "backup.rdb"

    with server(redis_server_path, live, appendonly=True) as client:
        definitions = ScheduleDefinitions(client)
        every_minute = {"type": "interval", "every": 60}
        created = [
            definitions.create({"name": f"s{i}", "task": "system.noop", "trigger": every_minute})
            for i in range(SCHEDULES)
        ]
        client.lpush("default", b'{"body": "a waiting task message"}')
        before = dataset(client)
        port = client.connection_pool.connection_kwargs["port"]
        subprocess.run(
            [redis_cli, "-h", "127.0.0.1", "-p", str(port), "--rdb", str(backup)],
            check=True,
            capture_output=True,
            timeout=30,
        )

    shutil.copy(backup, restored / "dump.rdb")
    with server(redis_server_path, restored, appendonly=False) as client:
        assert dataset(client) == before
        client.config_set("appendonly", "yes")
        wait_for_aof_rewrite(client)
    (restored / "dump.rdb").unlink()  # from here on the data comes from the AOF alone

    with server(redis_server_path, restored, appendonly=True) as client:
        assert dataset(client) == before
        definitions = ScheduleDefinitions(client)
        assert [definitions.get(s.id) for s in created] == created
        assert client.zcard(keys.SCHEDULE_DUE) == SCHEDULES
        assert client.lrange("default", 0, -1) == [b'{"body": "a waiting task message"}']
