"""Every Redis key name the platform reads or writes, in one place.

Celery's own keys (queues, results) are listed too, because the monitor and the cleanup task
read them directly.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "BEAT_HEARTBEAT",
    "BEAT_NODE_PREFIX",
    "CELERY_RESULT_MATCH",
    "CELERY_RESULT_PREFIX",
    "ETL_OUTPUT_MATCH",
    "ETL_OUTPUT_PREFIX",
    "KOMBU_BINDING_MATCH",
    "KOMBU_BINDING_PREFIX",
    "KOMBU_UNACKED",
    "KOMBU_UNACKED_INDEX",
    "KOMBU_UNACKED_MUTEX",
    "LEGACY_PRIORITY_SEP",
    "MONITOR_AUDIT",
    "MONITOR_INDEX_PREFIX",
    "MONITOR_PREFIX",
    "MONITOR_TASKS",
    "MONITOR_TASK_PREFIX",
    "MONITOR_TRIAGE_GROUPS",
    "PAYLOAD_MATCH",
    "PAYLOAD_PREFIX",
    "PREFIX",
    "PRIORITY_SEP",
    "PRIORITY_STEPS",
    "REVOKED",
    "SCHEDULE_CHANGES",
    "SCHEDULE_DUE",
    "SCHEDULE_FENCE",
    "SCHEDULE_LEADER",
    "SCHEDULE_NAMES",
    "SCHEDULE_PAUSED",
    "SCHEDULE_PREFIX",
    "SCHEDULE_SET_ASIDE",
    "SCHEDULE_STATIC",
    "TASK_PREFIX",
    "beat_node",
    "binding_queue",
    "celery_result",
    "etl_output",
    "kombu_unacked",
    "kombu_unacked_index",
    "monitor_index",
    "monitor_task",
    "payload",
    "queue_keys",
    "schedule_bucket",
    "schedule_inflight",
    "schedule_runs",
    "task_record",
]

PREFIX = "sdp"

PAYLOAD_PREFIX = f"{PREFIX}:payload:"
ETL_OUTPUT_PREFIX = f"{PREFIX}:etl:"
TASK_PREFIX = f"{PREFIX}:task:"
BEAT_HEARTBEAT = f"{PREFIX}:beat:heartbeat"
BEAT_NODE_PREFIX = f"{PREFIX}:beat:node:"

# The schedule store (sdp_schedules): entries in bucket hashes (schedule_bucket) plus these
# shared indexes.
SCHEDULE_PREFIX = f"{PREFIX}:sched:"
# ZSET id -> next due time (epoch ms); paused and finished schedules are not in it.
SCHEDULE_DUE = f"{SCHEDULE_PREFIX}due"
# ZSET of "name/id" members at score 0: unique names, lexical order and prefix search.
SCHEDULE_NAMES = f"{SCHEDULE_PREFIX}names"
# ZSET of paused schedules' "name/id" at score 0, like SCHEDULE_NAMES: they cost nothing per
# tick, and listing them pages in name order without reading the others.
SCHEDULE_PAUSED = f"{SCHEDULE_PREFIX}paused:names"
# SET of ids of schedules beat set aside (state set_aside): counted by the heartbeat.
SCHEDULE_SET_ASIDE = f"{SCHEDULE_PREFIX}set_aside"
# SET of ids seeded from beat's configuration, pruned when an entry leaves it.
SCHEDULE_STATIC = f"{SCHEDULE_PREFIX}static"
# Pub/sub channel: every write publishes the schedule id.
SCHEDULE_CHANGES = f"{SCHEDULE_PREFIX}changes"
# The firing engine's leader lock ("token:node") and the counter its fencing tokens come from.
SCHEDULE_LEADER = f"{SCHEDULE_PREFIX}leader"
SCHEDULE_FENCE = f"{SCHEDULE_PREFIX}fence"

# The monitor (sdp_monitor): task history kept from the event stream, and the audit log.
MONITOR_PREFIX = f"{PREFIX}:mon:"
# One hash per task: name, state, worker, queue, times, capped args/result/traceback.
MONITOR_TASK_PREFIX = f"{MONITOR_PREFIX}task:"
# ZSET id -> first seen (epoch ms): every task in the history, trimmed by count and age.
MONITOR_TASKS = f"{MONITOR_PREFIX}tasks"
# ZSETs id -> first seen, one per value of a filterable field: "<prefix><field>:<value>".
MONITOR_INDEX_PREFIX = f"{MONITOR_TASKS}:"
# SET of the triage groups (failed or revoked tasks by state, exception type and task name)
# that have an index ("<prefix>triage_group:<group>", scored by when the task ended).
MONITOR_TRIAGE_GROUPS = f"{MONITOR_PREFIX}triage-groups"
# Stream of operator and admin actions, capped by length.
MONITOR_AUDIT = f"{MONITOR_PREFIX}audit"

# ZSET task id -> when its revocation lapses (epoch ms): tasks cancelled through the monitor.
# Workers check it before running any task; each write trims the lapsed members.
REVOKED = f"{PREFIX}:revoked"

# SCAN patterns for the cleanup task; the prefixes hold no glob characters.
PAYLOAD_MATCH = f"{PAYLOAD_PREFIX}*"
ETL_OUTPUT_MATCH = f"{ETL_OUTPUT_PREFIX}*"

# Celery's Redis result backend stores each result under this prefix.
CELERY_RESULT_PREFIX = "celery-task-meta-"
CELERY_RESULT_MATCH = f"{CELERY_RESULT_PREFIX}*"

# kombu's Redis transport keeps one list per priority step: "<queue>" for step 0 and
# "<queue><sep><step>" for the others. The separator is kombu's default, so that a client
# configured with the broker URL alone reads and writes the same keys. Ten steps rather than
# kombu's default four (0, 3, 6, 9): a stock client rounds its priority down to one of those
# four, which are lists the platform's workers read among the ten.
PRIORITY_STEPS: tuple[int, ...] = tuple(range(10))
PRIORITY_SEP = "\x06\x16"
# The separator of versions before kombu's default was adopted; only sdp_core.upgrade reads it.
LEGACY_PRIORITY_SEP = ":"
# kombu's Redis transport keeps one SET per exchange whose members name the bound queues,
# "<routing key><sep><pattern><sep><queue>", with the same separator as the priority steps;
# a process splits every member of a table it routes through, so one written with another
# separator breaks its sends. The monitor finds the queues nobody consumes there.
KOMBU_BINDING_PREFIX = "_kombu.binding."
KOMBU_BINDING_MATCH = f"{KOMBU_BINDING_PREFIX}*"
# kombu's Redis transport keeps every delivered, unacknowledged message in a hash (delivery
# tag -> message) and its delivery time in a ZSET (delivery tag -> epoch s), and any consumer
# puts back the messages delivered longer than the visibility timeout ago. The transport
# options `unacked_key` and `unacked_index_key` rename them.
KOMBU_UNACKED = "unacked"
KOMBU_UNACKED_INDEX = "unacked_index"
# The lock kombu takes while it puts those messages back.
KOMBU_UNACKED_MUTEX = "unacked_mutex"


def payload(payload_id: str) -> str:
    """A collected response body (hash: body, content_type, url, status, fetched_at)."""
    return f"{PAYLOAD_PREFIX}{payload_id}"


def etl_output(output_id: str) -> str:
    """The rows an ETL transform produced, as a JSON string."""
    return f"{ETL_OUTPUT_PREFIX}{output_id}"


def task_record(task_id: str) -> str:
    """What the API knows of a task it submitted (hash: name, queue, submitted_at)."""
    return f"{TASK_PREFIX}{task_id}"


def schedule_bucket(schedule_id: str) -> str:
    """The hash holding this schedule's entry (field: its id), one of 4,096 by id prefix.

    Small hashes are stored compactly by Redis, and one entry per field rather than one key
    per schedule saves the per-key overhead: together about 120 B per schedule.
    """
    return f"{SCHEDULE_PREFIX}b:{schedule_id[:3]}"


def schedule_runs(schedule_id: str) -> str:
    """A schedule's capped run history (list of JSON records, newest first)."""
    return f"{SCHEDULE_PREFIX}runs:{schedule_id}"


def schedule_inflight(schedule_id: str) -> str:
    """Task ids a schedule sent that may still run (ZSET id -> sent at), for max_instances."""
    return f"{SCHEDULE_PREFIX}inflight:{schedule_id}"


def monitor_task(task_id: str) -> str:
    """One task as the monitor saw it in the event stream (hash)."""
    return f"{MONITOR_TASK_PREFIX}{task_id}"


def monitor_index(field: str, value: str) -> str:
    """The history's tasks with this state, name, worker or queue (ZSET id -> first seen)."""
    return f"{MONITOR_INDEX_PREFIX}{field}:{value}"


def beat_node(node: str) -> str:
    """One beat replica's own heartbeat, leader or not."""
    return f"{BEAT_NODE_PREFIX}{node}"


def celery_result(task_id: str) -> str:
    return f"{CELERY_RESULT_PREFIX}{task_id}"


def binding_queue(member: str, sep: str = PRIORITY_SEP) -> str | None:
    """The queue a binding member names, or None if kombu could not split it with `sep`."""
    parts = member.split(sep)
    return parts[2] if len(parts) == 3 else None


def _kombu_key(options: Mapping[str, object] | None, option: str, default: str) -> str:
    options = options or {}
    return f"{options.get('global_keyprefix') or ''}{options.get(option) or default}"


def kombu_unacked(transport_options: Mapping[str, object] | None = None) -> str:
    """kombu's hash of unacknowledged messages, as the broker's transport options name it."""
    return _kombu_key(transport_options, "unacked_key", KOMBU_UNACKED)


def kombu_unacked_index(transport_options: Mapping[str, object] | None = None) -> str:
    """kombu's ZSET of when each unacknowledged message was delivered."""
    return _kombu_key(transport_options, "unacked_index_key", KOMBU_UNACKED_INDEX)


def queue_keys(queue: str, prefix: str = "", sep: str = PRIORITY_SEP) -> list[str]:
    """The Redis lists that together hold a queue's pending messages, by priority step.

    `prefix` is kombu's `global_keyprefix`, when the broker is configured with one.
    """
    return [
        f"{prefix}{queue}" if step == 0 else f"{prefix}{queue}{sep}{step}"
        for step in PRIORITY_STEPS
    ]
