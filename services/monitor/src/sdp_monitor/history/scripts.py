"""Lua for the history, so an event's index moves and a page's filtering are atomic and cheap.

Each task is a hash (`keys.monitor_task`) and a member, scored by the time it was first seen
(epoch ms), of the all-tasks index (`keys.MONITOR_TASKS`) and of one index per value of each
filterable field (`keys.monitor_index`): record.INDEXED_FIELDS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import orjson

from sdp_core import keys
from sdp_monitor.history.record import (
    INDEXED_FIELDS,
    OTHER_RANK,
    SCORE_FIELD,
    STATE_FIELD,
    STATE_RANKS,
)

__all__ = ["DEFINITIONS", "QUERY", "RECORD", "TRIM", "Change", "record_args"]


def _lua_strings(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _lua_table(entries: Mapping[str, int]) -> str:
    return "{" + ", ".join(f"{name} = {value}" for name, value in entries.items()) + "}"


# The record's layout and state ranks (record.py) for the scripts that write or drop records.
# AT: where each indexed field but the state is in the reply to HMGET of SCORE and INDEXED.
DEFINITIONS = f"""
local SCORE, STATE = '{SCORE_FIELD}', '{STATE_FIELD}'
local INDEXED = {{{_lua_strings(INDEXED_FIELDS)}}}
local AT = {_lua_table({name: n + 3 for n, name in enumerate(INDEXED_FIELDS[1:])})}
local RANK, OTHER_RANK = {_lua_table(STATE_RANKS)}, {OTHER_RANK}
local function rank(state) return RANK[state] or OTHER_RANK end
"""

# Merge each task's fields; move it between indexes when its state, name, worker or queue
# changes. A state only replaces one of lower or equal rank (record.replaces), so an event
# that arrives late never turns a finished task back into a running one.
# Many tasks per call: the call and its arguments cost Redis and the caller more than a task's
# own writes. The task hashes are named from their prefix, as TRIM names them.
# KEYS: all-tasks index. ARGV: index prefix, task hash prefix, a JSON array of
# [id, first seen (ms, as text), state or '', {field: text}].
RECORD = (
    DEFINITIONS
    + """
local all, prefix, tprefix = KEYS[1], ARGV[1], ARGV[2]
-- Index changes are gathered per index and made by one ZREM and one ZADD each at the end.
local adds, removes = {}, {}
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
for _, task in ipairs(cjson.decode(ARGV[3])) do
  local id, state = task[1], task[3]
  local key = tprefix .. id
  local old = redis.call('HMGET', key, SCORE, unpack(INDEXED))
  local score = old[1]
  local set = {}
  if not score then
    score = task[2]
    add(all, score, id)
    set = {SCORE, score}
  end
  if state ~= '' and (not old[2] or rank(state) >= rank(old[2])) then
    reindex(id, score, STATE, old[2], state)
    set[#set + 1] = STATE
    set[#set + 1] = state
  end
  for field, value in pairs(task[4]) do
    if AT[field] then reindex(id, score, field, old[AT[field]], value) end
    set[#set + 1] = field
    set[#set + 1] = value
  end
  if #set > 0 then redis.call('HSET', key, unpack(set)) end
end
-- A task is in one batch once, so it never leaves and enters the same index here.
for key, ids in pairs(removes) do redis.call('ZREM', key, unpack(ids)) end
for key, members in pairs(adds) do redis.call('ZADD', key, unpack(members)) end
return 0
"""
)

Change = tuple[str, int, str | None, dict[str, str]]


def record_args(changes: Sequence[Change]) -> list[str | bytes]:
    """RECORD's ARGV for (task id, first seen ms, state or None, fields) changes."""
    # The first-seen time as text: cjson would read a number as a double.
    batch = [(task_id, str(ms), state or "", fields) for task_id, ms, state, fields in changes]
    return [keys.MONITOR_INDEX_PREFIX, keys.MONITOR_TASK_PREFIX, orjson.dumps(batch)]


# Drop up to a batch of the oldest tasks: those first seen before the cutoff, or beyond the
# count. Returns how many went; the caller repeats while a whole batch went.
# KEYS: all-tasks index. ARGV: index prefix, task hash prefix, cutoff (ms), max count, batch.
TRIM = (
    DEFINITIONS
    + """
local all, prefix, tprefix = KEYS[1], ARGV[1], ARGV[2]
local batch = tonumber(ARGV[5])
local ids = redis.call('ZRANGEBYSCORE', all, '-inf', '(' .. ARGV[3], 'LIMIT', 0, batch)
local over = redis.call('ZCARD', all) - tonumber(ARGV[4])
if over > #ids then ids = redis.call('ZRANGE', all, 0, math.min(over, batch) - 1) end
if #ids == 0 then return 0 end
-- Removals gathered per index, one ZREM each, as RECORD gathers its changes.
local removes, hashes = {}, {}
for n, id in ipairs(ids) do
  local key = tprefix .. id
  hashes[n] = key
  local values = redis.call('HMGET', key, unpack(INDEXED))
  for i, field in ipairs(INDEXED) do
    if values[i] then
      local index = prefix .. field .. ':' .. values[i]
      local list = removes[index]
      if not list then list = {}; removes[index] = list end
      list[#list + 1] = id
    end
  end
end
for index, members in pairs(removes) do redis.call('ZREM', index, unpack(members)) end
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
