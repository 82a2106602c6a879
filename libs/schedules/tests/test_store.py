"""The Redis schedule store on a real Redis: round trips, validation, indexes, claims."""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis

from sdp_core import keys
from sdp_core.replies import text
from sdp_schedules import scripts
from sdp_schedules.errors import (
    ScheduleChanged,
    ScheduleConflict,
    ScheduleInvalid,
    ScheduleNotFound,
    ScheduleUndecodable,
)
from sdp_schedules.leader import LeaderLock
from sdp_schedules.model import STORED, ScheduleSpec
from sdp_schedules.records import (
    ENTRY_FIELDS,
    REASON_MAX_CHARS,
    Run,
    Schedule,
    ScheduleState,
    Undecodable,
    decode_entry,
    decode_schedule,
    entry_version,
)
from sdp_schedules.store import (
    SCAN_BUDGET,
    Claim,
    Counts,
    Firing,
    Page,
    ScheduleStore,
    is_entry_fault,
)
from sdp_testing.clock import Clock
from sdp_testing.schedules import rewrite_definition, rival_writes_before
from sdp_testing.schedules import schedule_doc as doc

T0 = 1_790_000_000_000  # a fixed "now", epoch ms


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def store(redis_client: redis.Redis, clock: Clock) -> ScheduleStore:
    return ScheduleStore(redis_client, runs_kept=5, clock=clock)


def test_create_and_read_back(store: ScheduleStore, redis_client: redis.Redis) -> None:
    created = store.create(doc(task="system.sleep", kwargs={"seconds": 0.5}))
    assert created.state is ScheduleState.active
    assert created.next_slot_ms == T0 + 30_000
    assert created.created_ms == created.updated_ms == T0
    assert store.get(created.id) == created
    assert store.find("orders") == created
    assert store.find("order") is None
    assert redis_client.zscore(keys.SCHEDULE_DUE, created.id) == T0 + 30_000
    assert store.counts().active == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"trigger": {"type": "crontab", "minute": "61"}}, "trigger.crontab.minute"),
        ({"trigger": {"type": "crontab", "timezone": "Mars/Olympus"}}, "trigger.crontab.timezone"),
        (
            {"start_at": "2026-12-02T00:00:00Z", "end_at": "2026-12-01T00:00:00Z"},
            "end_at",
        ),
        ({"task": "nope.nothing"}, "task"),
        ({"task": "collect.http", "kwargs": {}}, "kwargs.url"),
        ({"task": "system.noop", "kwargs": {"bogus": 1}}, "kwargs.bogus"),
        ({"queue": "nowhere"}, "queue"),
        ({"trigger": {"type": "once", "at": "2020-01-01T00:00:00Z"}}, "trigger.once.at"),
        ({"end_at": "2020-01-01T00:00:00Z"}, "end_at"),
        (
            {"trigger": {"type": "crontab", "day_of_month": "30", "month_of_year": "2"}},
            "trigger.crontab.day_of_month",
        ),
    ],
)
def test_bad_definitions_name_the_field_and_write_nothing(
    store: ScheduleStore, redis_client: redis.Redis, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ScheduleInvalid) as caught:
        store.create(doc(**changes))
    assert field in [name for name, _ in caught.value.fields]
    assert redis_client.dbsize() == 0


def test_names_are_unique(store: ScheduleStore, redis_client: redis.Redis) -> None:
    first = store.create(doc("a"))
    with pytest.raises(ScheduleConflict):
        store.create(doc("a"))
    second = store.create(doc("a-b"))
    with pytest.raises(ScheduleConflict):
        store.replace(second.id, doc("a"))
    assert store.get(second.id).spec.name == "a-b"
    renamed = store.replace(first.id, doc("c"))
    assert renamed.spec.name == "c"
    assert store.find("a") is None
    store.create(doc("a"))
    assert redis_client.zcard(keys.SCHEDULE_NAMES) == 3


@pytest.mark.parametrize("script", [scripts.CLAIM, scripts.FIRE, scripts.ADVANCE])
def test_the_claim_codes_are_the_numbers_the_lua_returns(script: str) -> None:
    for code in scripts.ClaimCode:
        assert re.search(rf"return {int(code)}(?!\d)", script), code


@pytest.mark.parametrize(
    ("script", "codes"),
    [
        (scripts.PUT, set(scripts.WriteCode) - {scripts.WriteCode.DONE}),
        (
            scripts.CREATE_MANY,
            set(scripts.WriteCode) - {scripts.WriteCode.NO_ENTRY, scripts.WriteCode.VERSION_MOVED},
        ),
        (
            scripts.DELETE,
            set(scripts.WriteCode) - {scripts.WriteCode.ID_EXISTS, scripts.WriteCode.NAME_TAKEN},
        ),
    ],
)
def test_the_write_codes_are_the_numbers_the_lua_returns(
    script: str, codes: set[scripts.WriteCode]
) -> None:
    for code in codes:
        assert re.search(rf"(return|code =) {int(code)}(?!\d)", script), code


def test_a_write_that_keeps_losing_the_version_race_raises_schedule_changed(
    store: ScheduleStore, redis_client: redis.Redis, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedule = store.create(doc())
    rival = ScheduleStore(redis_client, clock=clock)

    def bump(n: int) -> None:
        rival.replace(schedule.id, doc(priority=n % 5))

    monkeypatch.setattr(store, "_put", rival_writes_before(store._put, bump))
    with pytest.raises(ScheduleChanged, match="changed meanwhile"):
        store.replace(schedule.id, doc("renamed"))
    monkeypatch.setattr(store, "_delete", rival_writes_before(store._delete, bump))
    with pytest.raises(ScheduleChanged, match="changed meanwhile"):
        store.delete(schedule.id)
    kept = store.get(schedule.id)
    assert kept.spec.name == "orders"
    assert kept.version > schedule.version


def test_pause_leaves_the_due_set_and_resume_picks_the_next_slot(
    store: ScheduleStore, redis_client: redis.Redis, clock: Clock
) -> None:
    schedule = store.create(doc())
    paused = store.pause(schedule.id)
    assert paused.state is ScheduleState.paused
    assert paused.next_slot_ms is None
    assert redis_client.zcard(keys.SCHEDULE_DUE) == 0
    assert store.counts() == store.counts().__class__(active=0, paused=1, finished=0)
    clock.now += 95_000
    resumed = store.resume(schedule.id)
    assert resumed.state is ScheduleState.active
    # Fixed-rate slots stay aligned to the first one: created + 30 s, + 60 s, ...
    assert resumed.next_slot_ms == T0 + 120_000
    assert store.counts().paused == 0


def test_replace_keeps_the_slot_unless_timing_changes(store: ScheduleStore) -> None:
    schedule = store.create(doc())
    same_timing = store.replace(schedule.id, doc(priority=2))
    assert same_timing.next_slot_ms == schedule.next_slot_ms
    assert same_timing.version == schedule.version + 1
    faster = store.replace(schedule.id, doc(trigger={"type": "interval", "every": 5}))
    assert faster.next_slot_ms == T0 + 5_000


def test_delete_removes_every_key(store: ScheduleStore, redis_client: redis.Redis) -> None:
    schedule = store.create(doc())
    store.record(schedule.id, [Run(T0, T0, "SENT", task_id="t1")], started=[("t1", T0)])
    store.delete(schedule.id)
    assert redis_client.dbsize() == 0
    with pytest.raises(ScheduleNotFound):
        store.get(schedule.id)
    with pytest.raises(ScheduleNotFound):
        store.delete(schedule.id)


def test_every_write_publishes_the_id(store: ScheduleStore, redis_client: redis.Redis) -> None:
    pubsub = redis_client.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(keys.SCHEDULE_CHANGES)
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"
    schedule = store.create(doc())
    store.pause(schedule.id)
    store.delete(schedule.id)
    seen = [pubsub.get_message(timeout=1) for _ in range(3)]
    assert [m["data"].decode() for m in seen if m] == [schedule.id] * 3
    pubsub.close()


def test_pages_follow_name_order_with_filters(store: ScheduleStore) -> None:
    for number in range(7):
        store.create(doc(f"job-{number}"))
    store.create(doc("other", task="system.sleep", kwargs={"seconds": 1}))
    store.pause(store.create(doc("job-paused")).id)
    first = store.page(name_prefix="job-", limit=3)
    assert [s.name for s in first.items] == ["job-0", "job-1", "job-2"]
    rest = store.page(name_prefix="job-", cursor=first.next_cursor, limit=10)
    assert [s.name for s in rest.items][-1] == "job-paused"
    assert rest.next_cursor is None
    assert [s.name for s in store.page(state=ScheduleState.paused).items] == ["job-paused"]
    assert [s.name for s in store.page(task="system.sleep").items] == ["other"]
    assert len(store.page(queue="system", limit=100).items) == 9


def test_filtered_pages_cost_a_bounded_scan_however_rare_the_matches(
    store: ScheduleStore,
) -> None:
    total = 3 * SCAN_BUDGET
    rare = [f"n-{n:06}" for n in range(0, total, total // 7)]
    store.create_many(
        doc(f"n-{n:06}", **({"task": "system.sleep", "args": [1]} if f"n-{n:06}" in rare else {}))
        for n in range(total)
    )
    pages, seen, cursor = 0, [], None
    while True:
        page = store.page(task="system.sleep", cursor=cursor, limit=3)
        pages += 1
        assert len(page.items) <= 3
        seen += [s.name for s in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == rare
    # Each call stops at the budget or at a full page, so a rare filter takes a few calls.
    assert 3 <= pages <= 3 + len(rare) // 3 + 1
    # No match at all: an empty page that says where to go on, and the end after the last.
    empty = store.page(queue="collect", limit=50)
    assert empty.items == []
    assert empty.next_cursor is not None
    assert empty.next_cursor.startswith(f"n-{SCAN_BUDGET - 1:06}/")
    last = store.page(queue="collect", cursor=f"n-{2 * SCAN_BUDGET:06}0", limit=50)
    assert last == Page([], None)


def test_paused_schedules_page_from_their_own_index(store: ScheduleStore) -> None:
    ids = store.create_many(doc(f"p-{n:03}") for n in range(300))
    for schedule_id in ids[::30]:
        store.pause(schedule_id)
    renamed = store.replace(ids[0], doc("a-first", enabled=False))
    first = store.page(state=ScheduleState.paused, limit=4)
    assert [s.name for s in first.items] == ["a-first", "p-030", "p-060", "p-090"]
    rest = store.page(state=ScheduleState.paused, cursor=first.next_cursor, limit=50)
    assert [s.name for s in rest.items] == [f"p-{n:03}" for n in range(120, 300, 30)]
    assert rest.next_cursor is None
    assert store.counts().paused == 10
    store.resume(renamed.id)
    store.delete(ids[30])
    assert [s.name for s in store.page(state=ScheduleState.paused).items][:2] == [
        "p-060",
        "p-090",
    ]
    assert store.counts().paused == 8


def test_run_history_is_capped_newest_first(store: ScheduleStore) -> None:
    schedule = store.create(doc())
    for n in range(8):
        store.record(schedule.id, [Run(T0 + n, T0 + n, "SENT", task_id=f"t{n}")])
    runs = store.runs(schedule.id)
    assert [r.task_id for r in runs] == ["t7", "t6", "t5", "t4", "t3"]
    assert store.get(schedule.id).run_count == 8
    assert store.get(schedule.id).last_run_ms == T0 + 7
    with pytest.raises(ScheduleNotFound):
        store.runs("missing")


def test_record_after_delete_writes_nothing(
    store: ScheduleStore, redis_client: redis.Redis
) -> None:
    schedule = store.create(doc())
    store.delete(schedule.id)
    assert store.record(schedule.id, [Run(T0, T0, "SENT", task_id="t")]) == 0
    assert redis_client.dbsize() == 0


def lead(client: redis.Redis) -> str:
    """Take the leader lock; its fencing token."""
    lock = LeaderLock(client, "node-a", 5_000)
    assert lock.ensure()
    assert lock.token is not None
    return lock.token


def first_claim(schedule: Schedule) -> Claim:
    """The claim of a 30 s schedule's first slot."""
    due = schedule.next_slot_ms
    assert due is not None
    return Claim(schedule.id, schedule.version, due, due + 30_000, due + 30_000)


def test_claims_need_the_lock_the_due_time_and_the_version(
    store: ScheduleStore, redis_client: redis.Redis
) -> None:
    schedule = store.create(doc())
    token = lead(redis_client)
    claim = first_claim(schedule)
    due = claim.due_ms
    assert store.claim([claim], "1:someone-else") == [-1]
    stale = Claim(schedule.id, schedule.version, due - 1, due + 30_000, due + 30_000)
    assert store.claim([stale], token) == [0]
    edited = Claim(schedule.id, schedule.version - 1, due, due + 30_000, due + 30_000)
    assert store.claim([edited], token) == [0]
    assert store.claim([claim, claim], token) == [1, 0]
    assert store.get(schedule.id).next_slot_ms == due + 30_000
    assert store.unclaim(claim, due)
    assert store.get(schedule.id).next_slot_ms == due
    assert redis_client.zscore(keys.SCHEDULE_DUE, schedule.id) == due


def test_a_claim_of_the_last_slot_finishes_the_schedule(
    store: ScheduleStore, redis_client: redis.Redis
) -> None:
    schedule = store.create(doc(trigger={"type": "once", "at": "2030-01-01T00:00:00Z"}))
    due = schedule.next_slot_ms
    assert due is not None
    last = Claim(schedule.id, schedule.version, due, None, None)
    assert store.claim([last], lead(redis_client)) == [1]
    finished = store.get(schedule.id)
    assert finished.state is ScheduleState.finished
    assert finished.next_slot_ms is None
    assert store.counts().finished == 1
    assert store.next_due() is None


def test_create_many_validates_first_then_writes_in_pipelines(
    store: ScheduleStore, redis_client: redis.Redis
) -> None:
    with pytest.raises(ScheduleInvalid) as caught:
        store.create_many([doc("ok"), doc("bad", task="nope.nothing")])
    assert caught.value.fields[0][0] == "[1].task"
    assert redis_client.dbsize() == 0
    ids = store.create_many([doc(f"bulk-{n}") for n in range(25)], chunk=10)
    assert len(ids) == 25
    assert store.counts().active == 25
    assert store.get(ids[3]).spec.name == "bulk-3"
    with pytest.raises(ScheduleConflict):
        store.create_many([doc("bulk-1"), doc("bulk-new")])
    assert store.find("bulk-new") is not None


def test_create_many_refuses_a_one_off_in_the_past(
    store: ScheduleStore, redis_client: redis.Redis
) -> None:
    past = doc("late", trigger={"type": "once", "at": "2020-01-01T00:00:00Z"})
    with pytest.raises(ScheduleInvalid) as caught:
        store.create_many([doc("fine"), past])
    assert caught.value.fields[0][0] == "[1].trigger.once.at"
    assert redis_client.dbsize() == 0


def test_schedules_share_compact_bucket_hashes(
    store: ScheduleStore, redis_client: redis.Redis
) -> None:
    ids = store.create_many(doc(f"compact-{n:04}") for n in range(2_000))
    buckets = {keys.schedule_bucket(i) for i in ids}
    # No key per schedule: the buckets and the name and due indexes hold everything.
    assert redis_client.dbsize() == len(buckets) + 2  # + names and due
    assert all(
        redis_client.object("encoding", bucket) in (b"listpack", b"ziplist") for bucket in buckets
    )
    assert store.get(ids[7]).spec.name == "compact-0007"


def test_an_entry_written_before_set_aside_existed_still_decodes_and_is_upgraded(
    store: ScheduleStore, redis_client: redis.Redis
) -> None:
    schedule = store.create(doc())
    bucket = keys.schedule_bucket(schedule.id)
    head, _, definition = text(redis_client.hget(bucket, schedule.id)).partition("|")
    # The layout before "aside" and "reason" were added at its end.
    old = ",".join(head.split(",")[: ENTRY_FIELDS.index("aside")])
    redis_client.hset(bucket, schedule.id, f"{old}|{definition}")
    assert store.get(schedule.id) == schedule
    paused = store.pause(schedule.id)
    assert paused.state is ScheduleState.paused
    written = text(redis_client.hget(bucket, schedule.id)).partition("|")[0]
    assert written.count(",") == len(ENTRY_FIELDS) - 1


def test_a_set_aside_schedule_waits_out_of_the_due_set_until_resumed_or_changed(
    store: ScheduleStore, redis_client: redis.Redis, clock: Clock
) -> None:
    schedule = store.create(doc())
    other = store.create(doc("other"))
    reason = "OverflowError: 100%, a|b, " + "x" * 1_000
    assert not store.set_aside(schedule.id, str(schedule.version + 1), reason)  # changed since
    clock.now += 1_000
    assert store.set_aside(schedule.id, str(schedule.version), reason)
    # Set aside once: a second attempt keeps the first reason and says nothing changed.
    assert not store.set_aside(schedule.id, str(schedule.version), "ValueError: again")
    aside = store.get(schedule.id)
    assert aside.state is ScheduleState.set_aside
    assert aside.aside_reason == reason[:REASON_MAX_CHARS]
    assert aside.aside_ms == T0 + 1_000
    assert aside.next_slot_ms is None
    assert aside.version == schedule.version
    assert redis_client.zscore(keys.SCHEDULE_DUE, schedule.id) is None
    assert store.counts() == Counts(active=1, paused=0, finished=0, set_aside=1)
    assert store.page(state=ScheduleState.set_aside).items == [aside]
    assert store.page(state=ScheduleState.active).items == [store.get(other.id)]

    clock.now += 95_000
    resumed = store.resume(schedule.id)
    assert resumed.state is ScheduleState.active
    assert resumed.next_slot_ms == T0 + 120_000  # the next slot after now
    assert (resumed.aside_ms, resumed.aside_reason) == (None, None)
    assert redis_client.zscore(keys.SCHEDULE_DUE, schedule.id) == T0 + 120_000
    assert store.counts().set_aside == 0

    # A change of the definition (a fix) brings it back too, even with the same timing.
    assert store.set_aside(schedule.id, str(resumed.version), reason)
    fixed = store.replace(schedule.id, doc(priority=3))
    assert fixed.state is ScheduleState.active
    assert fixed.next_slot_ms == T0 + 120_000
    assert store.counts().set_aside == 0

    assert store.set_aside(schedule.id, str(fixed.version), reason)
    store.delete(schedule.id)
    assert store.counts() == Counts(active=1, paused=0, finished=0, set_aside=0)
    assert not store.set_aside(schedule.id, str(fixed.version), reason)


def test_an_entry_that_does_not_decode_can_be_set_aside(
    store: ScheduleStore, redis_client: redis.Redis
) -> None:
    schedule = store.create(doc())
    rewrite_definition(redis_client, schedule.id, trigger={"type": "weekly"})
    raw = redis_client.hget(keys.schedule_bucket(schedule.id), schedule.id)
    assert raw is not None
    with pytest.raises(ValueError, match="trigger"):
        decode_schedule(schedule.id, raw)
    assert store.set_aside(schedule.id, entry_version(raw), "ValidationError: trigger")
    entry = decode_entry(text(redis_client.hget(keys.schedule_bucket(schedule.id), schedule.id)))
    assert entry["state"] == "set_aside"
    assert redis_client.zcard(keys.SCHEDULE_DUE) == 0
    # Even an entry with no definition at all.
    redis_client.hset(keys.schedule_bucket("abc123"), "abc123", "garbage")
    redis_client.zadd(keys.SCHEDULE_DUE, {"abc123": T0})
    assert store.set_aside("abc123", "garbage", "ValueError: garbage")
    assert redis_client.zcard(keys.SCHEDULE_DUE) == 0


def test_a_firing_publishes_its_events_with_its_messages(
    store: ScheduleStore, redis_client: redis.Redis, clock: Clock
) -> None:
    claim = first_claim(store.create(doc()))
    token = lead(redis_client)
    events = redis_client.pubsub()  # type: ignore[no-untyped-call]
    events.subscribe("events")
    events.get_message(timeout=5)
    commands = [("lpush", "queue", "message"), ("publish", "events", "sent")]
    firing = Firing(claim, [], commands, [], [])
    assert store.fire([firing, firing], token, 0) == [1, 0]  # the second lost the race
    assert redis_client.lrange("queue", 0, -1) == [b"message"]
    published = events.get_message(timeout=5)
    assert published is not None
    assert published["data"] == b"sent"
    assert events.get_message(timeout=0.2) is None
    events.close()
    with pytest.raises(ValueError, match="FIRE runs only"):
        store.fire([Firing(claim, [], [("del", "queue", "")], [], [])], token, 0)


def test_a_script_that_fails_on_an_entry_is_that_entry_s_fault(
    store: ScheduleStore, redis_client: redis.Redis
) -> None:
    claim = first_claim(store.create(doc()))
    redis_client.set("not-a-list", "x")
    firing = Firing(claim, [], [("lpush", "not-a-list", "message")], [], [])
    [fault] = store.fire([firing], lead(redis_client), 0)
    assert isinstance(fault, redis.ResponseError)
    assert is_entry_fault(fault)
    assert not is_entry_fault(redis.exceptions.OutOfMemoryError("OOM command not allowed"))


def test_a_replacement_that_ends_or_fires_once_in_the_past_is_refused(
    store: ScheduleStore,
) -> None:
    schedule = store.create(doc())
    past: list[tuple[dict[str, Any], str]] = [
        ({"end_at": "2020-01-01T00:00:00Z"}, "end_at"),
        ({"trigger": {"type": "once", "at": "2020-01-01T00:00:00Z"}}, "trigger.once.at"),
    ]
    for changes, field in past:
        with pytest.raises(ScheduleInvalid) as caught:
            store.replace(schedule.id, doc(**changes))
        assert [name for name, _ in caught.value.fields] == [field]
    assert store.get(schedule.id) == schedule


def test_a_schedule_that_ended_still_reads_pauses_and_resumes(
    store: ScheduleStore, clock: Clock
) -> None:
    ends = store.create(doc(end_at="2026-09-22T00:00:00Z"))
    clock.now = ends.created_ms + 2 * 86_400_000  # after its end
    paused = store.pause(ends.id)
    assert paused.state is ScheduleState.paused
    resumed = store.resume(ends.id)
    assert (resumed.state, resumed.next_slot_ms) == (ScheduleState.finished, None)
    assert store.get(ends.id).spec.end_at == ends.spec.end_at


def test_a_definition_stored_before_the_bounds_reads_back_as_it_was(
    store: ScheduleStore,
) -> None:
    unbounded = doc(
        trigger={"type": "crontab", "minute": "0", "timezone": "localtime"},
        start_at="9999-12-31T00:00:00Z",
        expires_s=9_223_372_036_854_775_807,
    )
    # A ScheduleSpec is stored as it is; the bounds apply to documents.
    schedule = store.create(ScheduleSpec.model_validate(unbounded, context=STORED))
    assert schedule.state is ScheduleState.finished
    assert store.get(schedule.id).spec.expires_s == 9_223_372_036_854_775_807
    assert [s.id for s in store.page().items] == [schedule.id]
    assert store.resume(store.pause(schedule.id).id).state is ScheduleState.finished
    with pytest.raises(ScheduleInvalid) as caught:
        store.replace(schedule.id, {**unbounded, "name": "renamed"})
    assert {name for name, _ in caught.value.fields} == {
        "trigger.crontab.timezone",
        "start_at",
        "expires_s",
    }
    store.delete(schedule.id)


def test_an_entry_that_does_not_decode_is_read_replaced_and_deleted(
    store: ScheduleStore, redis_client: redis.Redis, clock: Clock
) -> None:
    good = store.create(doc("a-good"))
    broken = store.create(doc("b-broken"))
    paused = store.pause(store.create(doc("c-paused")).id)
    for schedule in (broken, paused):
        rewrite_definition(redis_client, schedule.id, task="system.retired")
    found = store.read(broken.id)
    assert isinstance(found, Undecodable)
    assert (found.name, found.version, found.created_ms) == ("b-broken", "1", T0)
    assert found.problem.startswith("task: Input should be 'collect.http'")
    assert found.reason == f"the stored definition no longer decodes: {found.problem}"
    with pytest.raises(ScheduleUndecodable, match="no longer decodes") as refused:
        store.get(broken.id)
    assert refused.value.entry == found
    for act in (store.pause, store.resume):
        with pytest.raises(ScheduleUndecodable):
            act(broken.id)
    assert store.load([good.id, broken.id]) == [good, found]
    assert store.page().items == [good, found, store.read(paused.id)]
    assert store.page(state=ScheduleState.set_aside).items == [found, store.read(paused.id)]
    assert store.page(state=ScheduleState.active).items == [good]
    assert store.page(state=ScheduleState.paused).items == []
    assert store.page(task="system.noop").items == [good]
    # The engines meet those stored as active, to set them aside.
    assert list(store.all_active()) == [good, found]
    assert not store.set_aside(paused.id, "2", "a paused schedule is not firing")

    clock.now += 45_000
    replaced = store.replace(broken.id, doc("b-fixed"))
    assert (replaced.state, replaced.next_slot_ms) == (ScheduleState.active, T0 + 60_000)
    assert (replaced.created_ms, replaced.version) == (T0, 2)
    assert store.find("b-broken") is None
    rewrite_definition(redis_client, broken.id, task="system.retired")
    store.delete(broken.id)
    store.delete(paused.id)
    assert store.page().items == [good]
    assert redis_client.zcard(keys.SCHEDULE_PAUSED) == 0
