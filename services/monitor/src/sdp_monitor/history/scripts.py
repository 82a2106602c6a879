"""Lua for the history, so an event's index moves and a page's filtering are atomic and cheap.

Each task is a hash (`keys.monitor_task`) and a member, scored by the time it was first seen
(epoch ms), of the all-tasks index (`keys.MONITOR_TASKS`) and of one index per value of each
filterable field (`keys.monitor_index`): record.INDEXED_FIELDS. A task that ended failed or
revoked is also in the index of its triage group (record.TRIAGE_FIELD), scored by when it ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import orjson

from sdp_core import keys
from sdp_monitor.history.record import (
    EXCEPTION_TYPE_FIELD,
    INDEXED_FIELDS,
    OTHER_RANK,
    SCORE_FIELD,
    STATE_FIELD,
    STATE_RANKS,
    TRIAGE_FIELD,
    TRIAGE_SEP,
    TRIAGE_STATES,
    TRIAGE_TIME_FIELD,
    UNKNOWN_EXCEPTION_TYPE,
    exception_type,
)

__all__ = ["DEFINITIONS", "QUERY", "RECORD", "TRIM", "Change", "record_args"]


def _lua_strings(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _lua_table(entries: Mapping[str, int | bool]) -> str:
    def lua(value: int | bool) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    return "{" + ", ".join(f"{name} = {lua(value)}" for name, value in entries.items()) + "}"


# The record's layout and state ranks (record.py) for the scripts that write or drop records.
# READ: what RECORD reads of a record; AT: where each indexed field but the state is in its
# reply, ALSO where the triage group and what it derives from are. INDEXES: the fields with an
# index per value, the triage group's included. TRIAGE: the states grouped, each with whether
# by exception type.
_READ = (SCORE_FIELD, *INDEXED_FIELDS, TRIAGE_FIELD, EXCEPTION_TYPE_FIELD, TRIAGE_TIME_FIELD)
_ALSO = {name: n + 1 for n, name in enumerate(_READ) if n > len(INDEXED_FIELDS)}
DEFINITIONS = f"""
local SCORE, STATE, GROUP = '{SCORE_FIELD}', '{STATE_FIELD}', '{TRIAGE_FIELD}'
local EXCEPTION_TYPE, ENDED = '{EXCEPTION_TYPE_FIELD}', '{TRIAGE_TIME_FIELD}'
local INDEXED = {{{_lua_strings(INDEXED_FIELDS)}}}
local READ = {{{_lua_strings(_READ)}}}
local AT = {_lua_table({name: n + 3 for n, name in enumerate(INDEXED_FIELDS[1:])})}
local ALSO = {_lua_table(_ALSO)}
local INDEXES = {{{_lua_strings((*INDEXED_FIELDS, TRIAGE_FIELD))}}}
local RANK, OTHER_RANK = {_lua_table(STATE_RANKS)}, {OTHER_RANK}
local TRIAGE = {_lua_table(TRIAGE_STATES)}
local SEP, UNKNOWN_TYPE = '{TRIAGE_SEP}', '{UNKNOWN_EXCEPTION_TYPE}'
local function rank(state) return RANK[state] or OTHER_RANK end
"""

# Merge each task's fields; move it between indexes when its state, name, worker or queue
# changes. A state only replaces one of lower or equal rank (record.replaces), so an event
# that arrives late never turns a finished task back into a running one. A task that ended
# failed or revoked is kept in its triage group (record.TRIAGE_FIELD) as the merged record
# names it, scored by when it ended, and the groups in use are listed (MONITOR_TRIAGE_GROUPS).
# Many tasks per call: the call and its arguments cost Redis and the caller more than a task's
# own writes. The task hashes are named from their prefix, as TRIM names them.
# KEYS: all-tasks index. ARGV: index prefix, task hash prefix, a JSON array of
# [id, first seen (ms, as text), state or '', {field: text}], the triage groups' set.
RECORD = (
    DEFINITIONS
    + """
local all, prefix, tprefix, groups = KEYS[1], ARGV[1], ARGV[2], ARGV[4]
-- Index changes are gathered per index and made by one ZREM and one ZADD each at the end;
-- so are the triage groups a task joined or left.
local adds, removes, joined, left = {}, {}, {}, {}
local function add(key, score, id)
  local list = adds[key]
  if not list then list = {}; adds[key] = list end
  local n = #list
  list[n + 1], list[n + 2] = score, id
end
local function remove(key, id)
  local list = removes[key]
  if not list then list = {}; removes[key] = list end
  list[#list + 1] = id
end
local function reindex(id, score, field, before, after)
  if after == before then return end
  if before then remove(prefix .. field .. ':' .. before, id) end
  add(prefix .. field .. ':' .. after, score, id)
end
-- The group a task with this state, exception type and name is in; false if none.
local function triage(state, kind, name)
  local by_type = TRIAGE[state]
  if by_type == nil then return false end
  if not by_type then kind = '' end
  return state .. SEP .. (kind or UNKNOWN_TYPE) .. SEP .. (name or '')
end
for _, task in ipairs(cjson.decode(ARGV[3])) do
  local id, state, fields = task[1], task[3], task[4]
  local key = tprefix .. id
  local old = redis.call('HMGET', key, unpack(READ))
  local score = old[1]
  local set = {}
  if not score then
    score = task[2]
    add(all, score, id)
    set = {SCORE, score}
  end
  local now = old[2]
  if state ~= '' and (not now or rank(state) >= rank(now)) then
    reindex(id, score, STATE, now, state)
    set[#set + 1] = STATE
    set[#set + 1] = state
    now = state
  end
  for field, value in pairs(fields) do
    if AT[field] then reindex(id, score, field, old[AT[field]], value) end
    set[#set + 1] = field
    set[#set + 1] = value
  end
  local before = old[ALSO[GROUP]]
  local group = triage(
    now, fields[EXCEPTION_TYPE] or old[ALSO[EXCEPTION_TYPE]], fields.name or old[AT.name])
  if group ~= before then
    if before then
      remove(prefix .. GROUP .. ':' .. before, id)
      left[before] = true
    end
    if group then
      joined[group] = true
      set[#set + 1] = GROUP
      set[#set + 1] = group
    else
      redis.call('HDEL', key, GROUP)
    end
  end
  -- Scored again when the task ends once more (a redelivered task fails again).
  if group and (group ~= before or fields[ENDED]) then
    local ended = tonumber(fields[ENDED] or old[ALSO[ENDED]])
    add(prefix .. GROUP .. ':' .. group, ended and math.floor(ended * 1000) or score, id)
  end
  if #set > 0 then redis.call('HSET', key, unpack(set)) end
end
-- A task is in one batch once, so it never leaves and enters the same index here.
for key, ids in pairs(removes) do redis.call('ZREM', key, unpack(ids)) end
for key, members in pairs(adds) do redis.call('ZADD', key, unpack(members)) end
local listed = {}
for group in pairs(joined) do listed[#listed + 1] = group end
if #listed > 0 then redis.call('SADD', groups, unpack(listed)) end
for group in pairs(left) do
  if redis.call('EXISTS', prefix .. GROUP .. ':' .. group) == 0 then
    redis.call('SREM', groups, group)
  end
end
return 0
"""
)

Change = tuple[str, int, str | None, dict[str, str]]


def record_args(changes: Sequence[Change]) -> list[str | bytes]:
    """RECORD's ARGV for (task id, first seen ms, state or None, fields) changes."""
    batch = [
        # The first-seen time as text: cjson would read a number as a double.
        (task_id, str(ms), state or "", _with_exception_type(fields))
        for task_id, ms, state, fields in changes
    ]
    return [
        keys.MONITOR_INDEX_PREFIX,
        keys.MONITOR_TASK_PREFIX,
        orjson.dumps(batch),
        keys.MONITOR_TRIAGE_GROUPS,
    ]


def _with_exception_type(fields: dict[str, str]) -> dict[str, str]:
    exception = fields.get("exception")
    if exception is None:
        return fields
    return {**fields, EXCEPTION_TYPE_FIELD: exception_type(exception)}


# Drop up to a batch of the oldest tasks: those first seen before the cutoff, or beyond the
# count. Returns how many went; the caller repeats while a whole batch went.
# KEYS: all-tasks index. ARGV: index prefix, task hash prefix, cutoff (ms), max count, batch,
# the triage groups' set.
TRIM = (
    DEFINITIONS
    + """
local all, prefix, tprefix, groups = KEYS[1], ARGV[1], ARGV[2], ARGV[6]
local batch = tonumber(ARGV[5])
local ids = redis.call('ZRANGEBYSCORE', all, '-inf', '(' .. ARGV[3], 'LIMIT', 0, batch)
local over = redis.call('ZCARD', all) - tonumber(ARGV[4])
if over > #ids then ids = redis.call('ZRANGE', all, 0, math.min(over, batch) - 1) end
if #ids == 0 then return 0 end
-- Removals gathered per index, one ZREM each, as RECORD gathers its changes.
local removes, hashes, left = {}, {}, {}
for n, id in ipairs(ids) do
  local key = tprefix .. id
  hashes[n] = key
  local values = redis.call('HMGET', key, unpack(INDEXES))
  for i, field in ipairs(INDEXES) do
    if values[i] then
      local index = prefix .. field .. ':' .. values[i]
      local list = removes[index]
      if not list then list = {}; removes[index] = list end
      list[#list + 1] = id
      if field == GROUP then left[values[i]] = index end
    end
  end
end
for index, members in pairs(removes) do redis.call('ZREM', index, unpack(members)) end
for group, index in pairs(left) do
  if redis.call('EXISTS', index) == 0 then redis.call('SREM', groups, group) end
end
redis.call('DEL', unpack(hashes))
redis.call('ZREM', all, unpack(ids))
return #ids
"""
)

# One page, newest first: walk the first index from the cursor and keep the ids that every
# other index also holds. The cursor is "<score>:<n>", n being how many members at exactly
# that score were already examined; '' when the index is exhausted. At most `budget` members
# are examined, so a rare combination of filters answers a short page and a cursor, not a stall.
# KEYS: the indexes, the smallest first. ARGV: max score or cursor score, members to skip at it,
# min score, limit, budget.
QUERY = """
local top, skip, bottom = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local limit, budget = tonumber(ARGV[4]), tonumber(ARGV[5])
local found, examined = {}, 0
local at_score, at_count = nil, 0
if skip > 0 then at_score, at_count = top, skip end
while #found < limit and examined < budget do
  local want = math.min(math.max(limit - #found, 16) * 2, budget - examined)
  local chunk = redis.call(
    'ZREVRANGEBYSCORE', KEYS[1], top, bottom, 'WITHSCORES', 'LIMIT', skip, want)
  for i = 1, #chunk, 2 do
    local id, score = chunk[i], chunk[i + 1]
    examined = examined + 1
    if score == at_score then at_count = at_count + 1 else at_score, at_count = score, 1 end
    local keep = true
    for k = 2, #KEYS do
      if not redis.call('ZSCORE', KEYS[k], id) then keep = false break end
    end
    if keep then
      found[#found + 1] = id
      if #found == limit then break end
    end
  end
  if #chunk < want * 2 and #found < limit then return {found, ''} end
  if at_score == nil then return {found, ''} end
  top, skip = at_score, at_count
end
if at_score == nil then return {found, ''} end
return {found, at_score .. ':' .. at_count}
"""
