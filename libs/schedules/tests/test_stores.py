"""The schedule stores on a real Redis: definitions (round trips, validation, indexes, pages,
versions) and the firing protocol (claims, fencing, firing, run records, setting aside)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis

from sdp_core import keys
from sdp_core.replies import text
from sdp_schedules import scripts
from sdp_schedules.definitions import SCAN_BUDGET, Counts, Page, ScheduleDefinitions
from sdp_schedules.errors import (
    ScheduleChanged,
    ScheduleConflict,
    ScheduleInvalid,
    ScheduleNotFound,
    ScheduleUndecodable,
)
from sdp_schedules.firing import Claim, Firing, ScheduleFiring, is_entry_fault
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
from sdp_testing.clock import T0, Clock
from sdp_testing.schedules import rewrite_definition, rival_writes_before
from sdp_testing.schedules import schedule_doc as doc


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def definitions(redis_client: redis.Redis, clock: Clock) -> ScheduleDefinitions:
    return ScheduleDefinitions(redis_client, clock=clock)


@pytest.fixture
def firing(redis_client: redis.Redis, clock: Clock) -> ScheduleFiring:
    return ScheduleFiring(redis_client, runs_kept=5, clock=clock)


# -- definitions --


def test_create_and_read_back(definitions: ScheduleDefinitions, redis_client: redis.Redis) -> None:
    created = definitions.create(doc(task="system.sleep", kwargs={"seconds": 0.5}))
    assert created.state is ScheduleState.active
    assert created.next_slot_ms == T0 + 30_000
    assert created.created_ms == created.updated_ms == T0
    assert definitions.get(created.id) == created
    assert definitions.find("orders") == created
    assert definitions.find("order") is None
    assert redis_client.zscore(keys.SCHEDULE_DUE, created.id) == T0 + 30_000
    assert definitions.counts().active == 1


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
    definitions: ScheduleDefinitions, redis_client: redis.Redis, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ScheduleInvalid) as caught:
        definitions.create(doc(**changes))
    assert field in [name for name, _ in caught.value.fields]
    assert redis_client.dbsize() == 0


def test_names_are_unique(definitions: ScheduleDefinitions, redis_client: redis.Redis) -> None:
    first = definitions.create(doc("a"))
    with pytest.raises(ScheduleConflict):
        definitions.create(doc("a"))
    second = definitions.create(doc("a-b"))
    with pytest.raises(ScheduleConflict):
        definitions.replace(second.id, doc("a"))
    assert definitions.get(second.id).spec.name == "a-b"
    renamed = definitions.replace(first.id, doc("c"))
    assert renamed.spec.name == "c"
    assert definitions.find("a") is None
    definitions.create(doc("a"))
    assert redis_client.zcard(keys.SCHEDULE_NAMES) == 3


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
    definitions: ScheduleDefinitions,
    redis_client: redis.Redis,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schedule = definitions.create(doc())
    rival = ScheduleDefinitions(redis_client, clock=clock)

    def bump(n: int) -> None:
        rival.replace(schedule.id, doc(priority=n % 5))

    monkeypatch.setattr(definitions, "_put", rival_writes_before(definitions._put, bump))
    with pytest.raises(ScheduleChanged, match="changed meanwhile"):
        definitions.replace(schedule.id, doc("renamed"))
    monkeypatch.setattr(definitions, "_delete", rival_writes_before(definitions._delete, bump))
    with pytest.raises(ScheduleChanged, match="changed meanwhile"):
        definitions.delete(schedule.id)
    kept = definitions.get(schedule.id)
    assert kept.spec.name == "orders"
    assert kept.version > schedule.version


def test_pause_leaves_the_due_set_and_resume_picks_the_next_slot(
    definitions: ScheduleDefinitions, redis_client: redis.Redis, clock: Clock
) -> None:
    schedule = definitions.create(doc())
    paused = definitions.pause(schedule.id)
    assert paused.state is ScheduleState.paused
    assert paused.next_slot_ms is None
    assert redis_client.zcard(keys.SCHEDULE_DUE) == 0
    assert definitions.counts() == definitions.counts().__class__(active=0, paused=1, finished=0)
    clock.now += 95_000
    resumed = definitions.resume(schedule.id)
    assert resumed.state is ScheduleState.active
    # Fixed-rate slots stay aligned to the first one: created + 30 s, + 60 s, ...
    assert resumed.next_slot_ms == T0 + 120_000
    assert definitions.counts().paused == 0


def test_replace_keeps_the_slot_unless_timing_changes(definitions: ScheduleDefinitions) -> None:
    schedule = definitions.create(doc())
    same_timing = definitions.replace(schedule.id, doc(priority=2))
    assert same_timing.next_slot_ms == schedule.next_slot_ms
    assert same_timing.version == schedule.version + 1
    faster = definitions.replace(schedule.id, doc(trigger={"type": "interval", "every": 5}))
    assert faster.next_slot_ms == T0 + 5_000


def test_delete_removes_every_key(
    definitions: ScheduleDefinitions, firing: ScheduleFiring, redis_client: redis.Redis
) -> None:
    schedule = definitions.create(doc())
    firing.record(schedule.id, [Run(T0, T0, "SENT", task_id="t1")], started=[("t1", T0)])
    definitions.delete(schedule.id)
    assert redis_client.dbsize() == 0
    with pytest.raises(ScheduleNotFound):
        definitions.get(schedule.id)
    with pytest.raises(ScheduleNotFound):
        definitions.delete(schedule.id)


def test_every_write_publishes_the_id(
    definitions: ScheduleDefinitions, redis_client: redis.Redis
) -> None:
    pubsub = redis_client.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(keys.SCHEDULE_CHANGES)
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"
    schedule = definitions.create(doc())
    definitions.pause(schedule.id)
    definitions.delete(schedule.id)
    seen = [pubsub.get_message(timeout=1) for _ in range(3)]
    assert [m["data"].decode() for m in seen if m] == [schedule.id] * 3
    pubsub.close()


def test_pages_follow_name_order_with_filters(definitions: ScheduleDefinitions) -> None:
    for number in range(7):
        definitions.create(doc(f"job-{number}"))
    definitions.create(doc("other", task="system.sleep", kwargs={"seconds": 1}))
    definitions.pause(definitions.create(doc("job-paused")).id)
    first = definitions.page(name_prefix="job-", limit=3)
    assert [s.name for s in first.items] == ["job-0", "job-1", "job-2"]
    rest = definitions.page(name_prefix="job-", cursor=first.next_cursor, limit=10)
    assert [s.name for s in rest.items][-1] == "job-paused"
    assert rest.next_cursor is None
    assert [s.name for s in definitions.page(state=ScheduleState.paused).items] == ["job-paused"]
    assert [s.name for s in definitions.page(task="system.sleep").items] == ["other"]
    assert len(definitions.page(queue="system", limit=100).items) == 9


def test_filtered_pages_cost_a_bounded_scan_however_rare_the_matches(
    definitions: ScheduleDefinitions,
) -> None:
    total = 3 * SCAN_BUDGET
    rare = [f"n-{n:06}" for n in range(0, total, total // 7)]
    definitions.create_many(
        doc(f"n-{n:06}", **({"task": "system.sleep", "args": [1]} if f"n-{n:06}" in rare else {}))
        for n in range(total)
    )
    pages, seen, cursor = 0, [], None
    while True:
        page = definitions.page(task="system.sleep", cursor=cursor, limit=3)
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
    empty = definitions.page(queue="collect", limit=50)
    assert empty.items == []
    assert empty.next_cursor is not None
    assert empty.next_cursor.startswith(f"n-{SCAN_BUDGET - 1:06}/")
    last = definitions.page(queue="collect", cursor=f"n-{2 * SCAN_BUDGET:06}0", limit=50)
    assert last == Page([], None)


def test_paused_schedules_page_from_their_own_index(definitions: ScheduleDefinitions) -> None:
    ids = definitions.create_many(doc(f"p-{n:03}") for n in range(300))
    for schedule_id in ids[::30]:
        definitions.pause(schedule_id)
    renamed = definitions.replace(ids[0], doc("a-first", enabled=False))
    first = definitions.page(state=ScheduleState.paused, limit=4)
    assert [s.name for s in first.items] == ["a-first", "p-030", "p-060", "p-090"]
    rest = definitions.page(state=ScheduleState.paused, cursor=first.next_cursor, limit=50)
    assert [s.name for s in rest.items] == [f"p-{n:03}" for n in range(120, 300, 30)]
    assert rest.next_cursor is None
    assert definitions.counts().paused == 10
    definitions.resume(renamed.id)
    definitions.delete(ids[30])
    assert [s.name for s in definitions.page(state=ScheduleState.paused).items][:2] == [
        "p-060",
        "p-090",
    ]
    assert definitions.counts().paused == 8


def test_create_many_validates_first_then_writes_in_pipelines(
    definitions: ScheduleDefinitions, redis_client: redis.Redis
) -> None:
    with pytest.raises(ScheduleInvalid) as caught:
        definitions.create_many([doc("ok"), doc("bad", task="nope.nothing")])
    assert caught.value.fields[0][0] == "[1].task"
    assert redis_client.dbsize() == 0
    ids = definitions.create_many([doc(f"bulk-{n}") for n in range(25)], chunk=10)
    assert len(ids) == 25
    assert definitions.counts().active == 25
    assert definitions.get(ids[3]).spec.name == "bulk-3"
    with pytest.raises(ScheduleConflict):
        definitions.create_many([doc("bulk-1"), doc("bulk-new")])
    assert definitions.find("bulk-new") is not None


def test_create_many_refuses_a_one_off_in_the_past(
    definitions: ScheduleDefinitions, redis_client: redis.Redis
) -> None:
    past = doc("late", trigger={"type": "once", "at": "2020-01-01T00:00:00Z"})
    with pytest.raises(ScheduleInvalid) as caught:
        definitions.create_many([doc("fine"), past])
    assert caught.value.fields[0][0] == "[1].trigger.once.at"
    assert redis_client.dbsize() == 0


def test_schedules_share_compact_bucket_hashes(
    definitions: ScheduleDefinitions, redis_client: redis.Redis
) -> None:
    ids = definitions.create_many(doc(f"compact-{n:04}") for n in range(2_000))
    buckets = {keys.schedule_bucket(i) for i in ids}
    # No key per schedule: the buckets and the name and due indexes hold everything.
    assert redis_client.dbsize() == len(buckets) + 2  # + names and due
    assert all(
        redis_client.object("encoding", bucket) in (b"listpack", b"ziplist") for bucket in buckets
    )
    assert definitions.get(ids[7]).spec.name == "compact-0007"


def test_an_entry_written_before_set_aside_existed_still_decodes_and_is_upgraded(
    definitions: ScheduleDefinitions, redis_client: redis.Redis
) -> None:
    schedule = definitions.create(doc())
    bucket = keys.schedule_bucket(schedule.id)
    head, _, definition = text(redis_client.hget(bucket, schedule.id)).partition("|")
    # The layout before "aside" and "reason" were added at its end.
    old = ",".join(head.split(",")[: ENTRY_FIELDS.index("aside")])
    redis_client.hset(bucket, schedule.id, f"{old}|{definition}")
    assert definitions.get(schedule.id) == schedule
    paused = definitions.pause(schedule.id)
    assert paused.state is ScheduleState.paused
    written = text(redis_client.hget(bucket, schedule.id)).partition("|")[0]
    assert written.count(",") == len(ENTRY_FIELDS) - 1


def test_a_replacement_that_ends_or_fires_once_in_the_past_is_refused(
    definitions: ScheduleDefinitions,
) -> None:
    schedule = definitions.create(doc())
    past: list[tuple[dict[str, Any], str]] = [
        ({"end_at": "2020-01-01T00:00:00Z"}, "end_at"),
        ({"trigger": {"type": "once", "at": "2020-01-01T00:00:00Z"}}, "trigger.once.at"),
    ]
    for changes, field in past:
        with pytest.raises(ScheduleInvalid) as caught:
            definitions.replace(schedule.id, doc(**changes))
        assert [name for name, _ in caught.value.fields] == [field]
    assert definitions.get(schedule.id) == schedule


def test_a_schedule_that_ended_still_reads_pauses_and_resumes(
    definitions: ScheduleDefinitions, clock: Clock
) -> None:
    ends = definitions.create(doc(end_at="2026-09-22T00:00:00Z"))
    clock.now = ends.created_ms + 2 * 86_400_000  # after its end
    paused = definitions.pause(ends.id)
    assert paused.state is ScheduleState.paused
    resumed = definitions.resume(ends.id)
    assert (resumed.state, resumed.next_slot_ms) == (ScheduleState.finished, None)
    assert definitions.get(ends.id).spec.end_at == ends.spec.end_at


def test_a_definition_stored_before_the_bounds_reads_back_as_it_was(
    definitions: ScheduleDefinitions,
) -> None:
    unbounded = doc(
        trigger={"type": "crontab", "minute": "0", "timezone": "localtime"},
        start_at="9999-12-31T00:00:00Z",
        expires_s=9_223_372_036_854_775_807,
    )
    # A ScheduleSpec is stored as it is; the bounds apply to documents.
    schedule = definitions.create(ScheduleSpec.model_validate(unbounded, context=STORED))
    assert schedule.state is ScheduleState.finished
    assert definitions.get(schedule.id).spec.expires_s == 9_223_372_036_854_775_807
    assert [s.id for s in definitions.page().items] == [schedule.id]
    assert definitions.resume(definitions.pause(schedule.id).id).state is ScheduleState.finished
    with pytest.raises(ScheduleInvalid) as caught:
        definitions.replace(schedule.id, {**unbounded, "name": "renamed"})
    assert {name for name, _ in caught.value.fields} == {
        "trigger.crontab.timezone",
        "start_at",
        "expires_s",
    }
    definitions.delete(schedule.id)


def test_an_entry_that_does_not_decode_is_read_replaced_and_deleted(
    definitions: ScheduleDefinitions,
    firing: ScheduleFiring,
    redis_client: redis.Redis,
    clock: Clock,
) -> None:
    good = definitions.create(doc("a-good"))
    broken = definitions.create(doc("b-broken"))
    paused = definitions.pause(definitions.create(doc("c-paused")).id)
    for schedule in (broken, paused):
        rewrite_definition(redis_client, schedule.id, task="system.retired")
    found = definitions.read(broken.id)
    assert isinstance(found, Undecodable)
    assert (found.name, found.version, found.created_ms) == ("b-broken", "1", T0)
    assert found.problem.startswith("task: Input should be 'collect.http'")
    assert found.reason == f"the stored definition no longer decodes: {found.problem}"
    with pytest.raises(ScheduleUndecodable, match="no longer decodes") as refused:
        definitions.get(broken.id)
    assert refused.value.entry == found
    for act in (definitions.pause, definitions.resume):
        with pytest.raises(ScheduleUndecodable):
            act(broken.id)
    assert definitions.load([good.id, broken.id]) == [good, found]
    assert definitions.page().items == [good, found, definitions.read(paused.id)]
    assert definitions.page(state=ScheduleState.set_aside).items == [
        found,
        definitions.read(paused.id),
    ]
    assert definitions.page(state=ScheduleState.active).items == [good]
    assert definitions.page(state=ScheduleState.paused).items == []
    assert definitions.page(task="system.noop").items == [good]
    # The engines meet those stored as active, to set them aside.
    assert list(firing.all_active()) == [good, found]
    assert not firing.set_aside(paused.id, "2", "a paused schedule is not firing")

    clock.now += 45_000
    replaced = definitions.replace(broken.id, doc("b-fixed"))
    assert (replaced.state, replaced.next_slot_ms) == (ScheduleState.active, T0 + 60_000)
    assert (replaced.created_ms, replaced.version) == (T0, 2)
    assert definitions.find("b-broken") is None
    rewrite_definition(redis_client, broken.id, task="system.retired")
    definitions.delete(broken.id)
    definitions.delete(paused.id)
    assert definitions.page().items == [good]
    assert redis_client.zcard(keys.SCHEDULE_PAUSED) == 0


# -- the firing protocol --


@pytest.mark.parametrize("script", [scripts.CLAIM, scripts.FIRE, scripts.ADVANCE])
def test_the_claim_codes_are_the_numbers_the_lua_returns(script: str) -> None:
    for code in scripts.ClaimCode:
        assert re.search(rf"return {int(code)}(?!\d)", script), code


def test_run_history_is_capped_newest_first(
    definitions: ScheduleDefinitions, firing: ScheduleFiring
) -> None:
    schedule = definitions.create(doc())
    for n in range(8):
        firing.record(schedule.id, [Run(T0 + n, T0 + n, "SENT", task_id=f"t{n}")])
    runs = firing.runs(schedule.id)
    assert [r.task_id for r in runs] == ["t7", "t6", "t5", "t4", "t3"]
    assert definitions.get(schedule.id).run_count == 8
    assert definitions.get(schedule.id).last_run_ms == T0 + 7
    with pytest.raises(ScheduleNotFound):
        firing.runs("missing")


def test_record_after_delete_writes_nothing(
    definitions: ScheduleDefinitions, firing: ScheduleFiring, redis_client: redis.Redis
) -> None:
    schedule = definitions.create(doc())
    definitions.delete(schedule.id)
    assert firing.record(schedule.id, [Run(T0, T0, "SENT", task_id="t")]) == 0
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
    definitions: ScheduleDefinitions, firing: ScheduleFiring, redis_client: redis.Redis
) -> None:
    schedule = definitions.create(doc())
    token = lead(redis_client)
    claim = first_claim(schedule)
    due = claim.due_ms
    assert firing.claim([claim], "1:someone-else") == [-1]
    stale = Claim(schedule.id, schedule.version, due - 1, due + 30_000, due + 30_000)
    assert firing.claim([stale], token) == [0]
    edited = Claim(schedule.id, schedule.version - 1, due, due + 30_000, due + 30_000)
    assert firing.claim([edited], token) == [0]
    assert firing.claim([claim, claim], token) == [1, 0]
    assert definitions.get(schedule.id).next_slot_ms == due + 30_000
    assert firing.unclaim(claim, due)
    assert definitions.get(schedule.id).next_slot_ms == due
    assert redis_client.zscore(keys.SCHEDULE_DUE, schedule.id) == due


def test_a_claim_of_the_last_slot_finishes_the_schedule(
    definitions: ScheduleDefinitions, firing: ScheduleFiring, redis_client: redis.Redis
) -> None:
    schedule = definitions.create(doc(trigger={"type": "once", "at": "2030-01-01T00:00:00Z"}))
    due = schedule.next_slot_ms
    assert due is not None
    last = Claim(schedule.id, schedule.version, due, None, None)
    assert firing.claim([last], lead(redis_client)) == [1]
    finished = definitions.get(schedule.id)
    assert finished.state is ScheduleState.finished
    assert finished.next_slot_ms is None
    assert definitions.counts().finished == 1
    assert firing.next_due() is None


def test_a_set_aside_schedule_waits_out_of_the_due_set_until_resumed_or_changed(
    definitions: ScheduleDefinitions,
    firing: ScheduleFiring,
    redis_client: redis.Redis,
    clock: Clock,
) -> None:
    schedule = definitions.create(doc())
    other = definitions.create(doc("other"))
    reason = "OverflowError: 100%, a|b, " + "x" * 1_000
    assert not firing.set_aside(schedule.id, str(schedule.version + 1), reason)  # changed since
    clock.now += 1_000
    assert firing.set_aside(schedule.id, str(schedule.version), reason)
    # Set aside once: a second attempt keeps the first reason and says nothing changed.
    assert not firing.set_aside(schedule.id, str(schedule.version), "ValueError: again")
    aside = definitions.get(schedule.id)
    assert aside.state is ScheduleState.set_aside
    assert aside.aside_reason == reason[:REASON_MAX_CHARS]
    assert aside.aside_ms == T0 + 1_000
    assert aside.next_slot_ms is None
    assert aside.version == schedule.version
    assert redis_client.zscore(keys.SCHEDULE_DUE, schedule.id) is None
    assert definitions.counts() == Counts(active=1, paused=0, finished=0, set_aside=1)
    assert definitions.page(state=ScheduleState.set_aside).items == [aside]
    assert definitions.page(state=ScheduleState.active).items == [definitions.get(other.id)]

    clock.now += 95_000
    resumed = definitions.resume(schedule.id)
    assert resumed.state is ScheduleState.active
    assert resumed.next_slot_ms == T0 + 120_000  # the next slot after now
    assert (resumed.aside_ms, resumed.aside_reason) == (None, None)
    assert redis_client.zscore(keys.SCHEDULE_DUE, schedule.id) == T0 + 120_000
    assert definitions.counts().set_aside == 0

    # A change of the definition (a fix) brings it back too, even with the same timing.
    assert firing.set_aside(schedule.id, str(resumed.version), reason)
    fixed = definitions.replace(schedule.id, doc(priority=3))
    assert fixed.state is ScheduleState.active
    assert fixed.next_slot_ms == T0 + 120_000
    assert definitions.counts().set_aside == 0

    assert firing.set_aside(schedule.id, str(fixed.version), reason)
    definitions.delete(schedule.id)
    assert definitions.counts() == Counts(active=1, paused=0, finished=0, set_aside=0)
    assert not firing.set_aside(schedule.id, str(fixed.version), reason)


def test_an_entry_that_does_not_decode_can_be_set_aside(
    definitions: ScheduleDefinitions, firing: ScheduleFiring, redis_client: redis.Redis
) -> None:
    schedule = definitions.create(doc())
    rewrite_definition(redis_client, schedule.id, trigger={"type": "weekly"})
    raw = redis_client.hget(keys.schedule_bucket(schedule.id), schedule.id)
    assert raw is not None
    with pytest.raises(ValueError, match="trigger"):
        decode_schedule(schedule.id, raw)
    assert firing.set_aside(schedule.id, entry_version(raw), "ValidationError: trigger")
    entry = decode_entry(text(redis_client.hget(keys.schedule_bucket(schedule.id), schedule.id)))
    assert entry["state"] == "set_aside"
    assert redis_client.zcard(keys.SCHEDULE_DUE) == 0
    # Even an entry with no definition at all.
    redis_client.hset(keys.schedule_bucket("abc123"), "abc123", "garbage")
    redis_client.zadd(keys.SCHEDULE_DUE, {"abc123": T0})
    assert firing.set_aside("abc123", "garbage", "ValueError: garbage")
    assert redis_client.zcard(keys.SCHEDULE_DUE) == 0


def test_a_firing_publishes_its_events_with_its_messages(
    definitions: ScheduleDefinitions,
    firing: ScheduleFiring,
    redis_client: redis.Redis,
    clock: Clock,
) -> None:
    claim = first_claim(definitions.create(doc()))
    token = lead(redis_client)
    events = redis_client.pubsub()  # type: ignore[no-untyped-call]
    events.subscribe("events")
    events.get_message(timeout=5)
    commands = [("lpush", "queue", "message"), ("publish", "events", "sent")]
    one = Firing(claim, [], commands, [], [])
    assert firing.fire([one, one], token, 0) == [1, 0]  # the second lost the race
    assert redis_client.lrange("queue", 0, -1) == [b"message"]
    published = events.get_message(timeout=5)
    assert published is not None
    assert published["data"] == b"sent"
    assert events.get_message(timeout=0.2) is None
    events.close()
    with pytest.raises(ValueError, match="FIRE runs only"):
        firing.fire([Firing(claim, [], [("del", "queue", "")], [], [])], token, 0)


def test_a_script_that_fails_on_an_entry_is_that_entry_s_fault(
    definitions: ScheduleDefinitions, firing: ScheduleFiring, redis_client: redis.Redis
) -> None:
    claim = first_claim(definitions.create(doc()))
    redis_client.set("not-a-list", "x")
    one = Firing(claim, [], [("lpush", "not-a-list", "message")], [], [])
    [fault] = firing.fire([one], lead(redis_client), 0)
    assert isinstance(fault, redis.ResponseError)
    assert is_entry_fault(fault)
    assert not is_entry_fault(redis.exceptions.OutOfMemoryError("OOM command not allowed"))
