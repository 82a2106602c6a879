"""The store's Lua scripts: each write is one atomic step, so readers never see half of one.

Names are kept in one ZSET as "name/id" members ("/" cannot appear in a name), which gives
unique names, lexical listing and prefix search from one structure.  Each schedule is one
field (its id) of a bucket hash (keys.schedule_bucket); its value is the entry: bookkeeping
fields (records.ENTRY_FIELDS), comma-separated, then "|" and the definition's JSON.
"""

from __future__ import annotations

from enum import IntEnum

from sdp_schedules.records import ENTRY_FIELDS

__all__ = [
    "ADVANCE",
    "CLAIM",
    "CREATE_MANY",
    "DELETE",
    "FIRE",
    "PEEK",
    "PUT",
    "RECORD",
    "SET_ASIDE",
    "UNCLAIM",
    "ClaimCode",
    "WriteCode",
]


class WriteCode(IntEnum):
    """What PUT, CREATE_MANY and DELETE return besides a new version; the Lua spells the numbers."""

    DONE = 1
    VERSION_MOVED = -1
    NAME_TAKEN = -2
    ID_EXISTS = -3
    NO_ENTRY = -4


class ClaimCode(IntEnum):
    """What CLAIM, FIRE and ADVANCE return; the Lua spells the numbers."""

    CLAIMED = 1
    MOVED_ON = 0
    NOT_LEADER = -1


# Reads and writes an entry as a table of its fields (layout: records.ENTRY_FIELDS).
_ENTRY = (
    "local FIELDS = {"
    + ", ".join(f"'{name}'" for name in ENTRY_FIELDS)
    + "}"
    + """
-- Never fails, whatever the stored text: beat must be able to set any entry aside.
local function read_entry(bucket, id)
  local raw = redis.call('HGET', bucket, id)
  if not raw then return nil end
  local bar = string.find(raw, '|', 1, true) or (#raw + 1)
  local entry = {spec = string.sub(raw, bar + 1)}
  local i = 1
  for value in string.gmatch(string.sub(raw, 1, bar - 1) .. ',', '([^,]*),') do
    if FIELDS[i] then entry[FIELDS[i]] = value end
    i = i + 1
  end
  return entry
end
local function write_entry(bucket, id, entry)
  local values = {}
  for i, name in ipairs(FIELDS) do values[i] = entry[name] or '' end
  redis.call('HSET', bucket, id, table.concat(values, ',') .. '|' .. entry.spec)
end
"""
)

# KEYS: bucket, names, due, paused, channel, static, set aside
# ARGV: id, expected version ("" to create), old name ("" to create), new name,
#       due ms ("" = not due, "keep" = leave as is), paused "1"/"0", static "1"/"0",
#       then field/value pairs ("" clears the field).
# Any write of the definition ends a set-aside; the caller gives the new state.
# Returns the new version, or -1 version moved on, -2 name taken, -3 id exists, -4 no entry
# (WriteCode).
PUT = (
    _ENTRY
    + """
local id = ARGV[1]
local entry = read_entry(KEYS[1], id)
if ARGV[2] == '' then
  if entry then return -3 end
  entry = {}
else
  if not entry then return -4 end
  if entry.version ~= ARGV[2] then return -1 end
end
local old, new = ARGV[3], ARGV[4]
if old ~= new then
  local taken = redis.call('ZRANGEBYLEX', KEYS[2], '[' .. new .. '/', '[' .. new .. '/\\255',
                           'LIMIT', 0, 1)
  if #taken > 0 then return -2 end
  if old ~= '' then redis.call('ZREM', KEYS[2], old .. '/' .. id) end
  redis.call('ZADD', KEYS[2], 0, new .. '/' .. id)
end
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[3], id)
elseif ARGV[5] ~= 'keep' then
  redis.call('ZADD', KEYS[3], ARGV[5], id)
end
if old ~= '' then redis.call('ZREM', KEYS[4], old .. '/' .. id) end
if ARGV[6] == '1' then redis.call('ZADD', KEYS[4], 0, new .. '/' .. id) end
if ARGV[7] == '1' then redis.call('SADD', KEYS[6], id) end
redis.call('SREM', KEYS[7], id)
entry.aside, entry.reason = '', ''
for i = 8, #ARGV, 2 do entry[ARGV[i]] = ARGV[i + 1] end
local version = (tonumber(entry.version) or 0) + 1
entry.version = tostring(version)
write_entry(KEYS[1], id, entry)
redis.call('PUBLISH', KEYS[5], id)
return version
"""
)

# Creates many schedules in one call (bulk loads); publishes "*" once at the end.
# KEYS: names, due, paused, channel.  ARGV: created ms, then per schedule 7 values:
# id, its bucket, name, due ms ("" = not due), state, slot ("" = none), spec.
# Returns one code per schedule: 1 created, -2 name taken, -3 id exists (WriteCode).
CREATE_MANY = (
    _ENTRY
    + """
local codes = {}
for i = 2, #ARGV, 7 do
  local id, bucket, name, due = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local state = ARGV[i + 4]
  local code = 1
  if redis.call('HEXISTS', bucket, id) == 1 then
    code = -3
  elseif #redis.call('ZRANGEBYLEX', KEYS[1], '[' .. name .. '/', '[' .. name .. '/\255',
                     'LIMIT', 0, 1) > 0 then
    code = -2
  else
    redis.call('ZADD', KEYS[1], 0, name .. '/' .. id)
    if due ~= '' then redis.call('ZADD', KEYS[2], due, id) end
    if state == 'paused' then redis.call('ZADD', KEYS[3], 0, name .. '/' .. id) end
    write_entry(bucket, id, {version = '1', state = state, slot = ARGV[i + 5],
                             created = ARGV[1], updated = ARGV[1], spec = ARGV[i + 6]})
  end
  codes[#codes + 1] = code
end
redis.call('PUBLISH', KEYS[4], '*')
return codes
"""
)

# KEYS: bucket, names, due, paused, runs, inflight, channel, static, set aside
# ARGV: id, expected version (as written: records.entry_version), name.
# Returns 1, or -1 version moved on, -4 no entry (WriteCode).
DELETE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return -4 end
if string.match(current, '^[^,|]*') ~= ARGV[2] then return -1 end
redis.call('ZREM', KEYS[2], ARGV[3] .. '/' .. ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[3] .. '/' .. ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[5], KEYS[6])
redis.call('SREM', KEYS[8], ARGV[1])
redis.call('SREM', KEYS[9], ARGV[1])
redis.call('PUBLISH', KEYS[7], ARGV[1])
return 1
"""

# Sets a schedule aside when firing it failed: out of the due set (so it costs nothing per
# tick and a restarted beat never meets it again), with when and why, unless its definition
# changed since the caller read it (a fix wins).  A vanished entry just leaves the due set.
# One set aside already keeps its first reason, and a paused one is not firing: each is left
# as it is, so whoever logs a set-aside on 1 logs it once.
# KEYS: bucket, due, set aside, channel
# ARGV: id, version as read (records.entry_version), reason (records.escape_field), at ms.
# Returns 1 set aside, 0 changed meanwhile, gone, set aside already or paused.
SET_ASIDE = (
    _ENTRY
    + """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if string.match(raw, '^[^,|]*') ~= ARGV[2] then return 0 end
local entry = read_entry(KEYS[1], ARGV[1])
if entry.state == 'set_aside' or entry.state == 'paused' then return 0 end
entry.state, entry.slot, entry.reason, entry.aside = 'set_aside', '', ARGV[3], ARGV[4]
write_entry(KEYS[1], ARGV[1], entry)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PUBLISH', KEYS[4], ARGV[1])
return 1
"""
)

# A leader's tick in one round trip: extend the lock, read what is due and the next due time.
# KEYS: leader, due.  ARGV: token, ttl ms, now ms, limit.
# Returns {0} when the token no longer holds the lock, else {1, due ids with scores, first}.
PEEK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'WITHSCORES', 'LIMIT', 0, ARGV[4])
return {1, due, redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')}
"""

# Moves an entry (KEYS[1] due set, ARGV[1] its id) on to its next slot and due time, or
# finishes it when there is no next slot; the caller writes the entry back.
_MOVE_ON = (
    _ENTRY
    + """
local function move_on(entry, slot, due_at)
  entry.slot = slot
  if slot == '' then
    redis.call('ZREM', KEYS[1], ARGV[1])
    entry.state = 'finished'
  else
    redis.call('ZADD', KEYS[1], due_at, ARGV[1])
  end
end
"""
)

# The claim checks shared by CLAIM and FIRE: the token holds the lock, the entry is due at the
# time read and its definition is unchanged; then the entry moves on.
_CLAIM = (
    _MOVE_ON
    + """
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return -1 end
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) ~= tonumber(ARGV[2]) then return 0 end
local entry = read_entry(KEYS[2], ARGV[1])
if not entry or entry.version ~= ARGV[4] then return 0 end
move_on(entry, ARGV[5], ARGV[6])
"""
)

# Advances one due entry past the slots a scheduler is about to send.  The fencing token must
# still hold the leader lock, the entry must still be due at the time the scheduler read, and
# its definition must not have changed since; so a slot is claimed once, by the current leader.
# KEYS: due, bucket, leader
# ARGV: id, expected due, token, version, next slot ("" = no more slots), next due.
# Returns 1 claimed, 0 lost the race (entry moved on), -1 not the leader (ClaimCode).
CLAIM = _CLAIM + "write_entry(KEYS[2], ARGV[1], entry)\nreturn 1\n"

# The in-process engine's claim: it knows the slot it is running rather than the due time, so
# it compares the stored slot instead.
# KEYS: due, bucket, leader
# ARGV: id, expected slot, token, next slot ("" = no more slots), next due.
# Returns 1 advanced, 0 the slot moved on (another run took it), -1 not the leader
# (ClaimCode).
ADVANCE = (
    _MOVE_ON
    + """
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return -1 end
local entry = read_entry(KEYS[2], ARGV[1])
if not entry or entry.slot ~= ARGV[2] or entry.state ~= 'active' then return 0 end
move_on(entry, ARGV[4], ARGV[5])
write_entry(KEYS[2], ARGV[1], entry)
return 1
"""
)

# Appends run records, counts sends and tracks task ids in flight; its arguments start at
# ARGV[at]: runs kept, sent count, last run ms, drop in-flight ids sent before this ms,
# record count n, n records, in-flight count m, m pairs (task id, sent ms), then task ids
# known to have finished (to the end of ARGV).
_RECORD = """
local function record(entry, runs, inflight, at)
  local i = at + 5
  local records = tonumber(ARGV[at + 4])
  for _ = 1, records do
    redis.call('LPUSH', runs, ARGV[i])
    i = i + 1
  end
  if records > 0 then redis.call('LTRIM', runs, 0, tonumber(ARGV[at]) - 1) end
  if tonumber(ARGV[at + 1]) > 0 then
    entry.runs = tostring((tonumber(entry.runs) or 0) + tonumber(ARGV[at + 1]))
    entry.last = ARGV[at + 2]
  end
  local adds = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, adds do
    redis.call('ZADD', inflight, ARGV[i + 1], ARGV[i])
    i = i + 2
  end
  for j = i, #ARGV do redis.call('ZREM', inflight, ARGV[j]) end
  redis.call('ZREMRANGEBYSCORE', inflight, '-inf', '(' .. ARGV[at + 3])
end
"""

# Claim, enqueue and record in one atomic step, for a broker that is this same Redis: either
# the slot moves on, its task messages are on their queues, their task-sent events are
# published and the runs are in the history, or none of it happened.  A leader killed at any
# moment therefore neither loses nor doubles a slot.  The messages and events are exactly the
# LPUSHes and PUBLISHes kombu would have run.
# KEYS: due, bucket, leader, runs, inflight
# ARGV: the six of CLAIM, push count p, p pairs (list key, message), publish count e,
#       e pairs (channel, event), then RECORD's ARGV.
# Returns 1 fired, 0 lost the race (nothing written), -1 not the leader (ClaimCode).
FIRE = (
    _RECORD
    + _CLAIM
    + """
local at = 8
for _ = 1, tonumber(ARGV[7]) do
  redis.call('LPUSH', ARGV[at], ARGV[at + 1])
  at = at + 2
end
local events = tonumber(ARGV[at])
at = at + 1
for _ = 1, events do
  redis.call('PUBLISH', ARGV[at], ARGV[at + 1])
  at = at + 2
end
record(entry, KEYS[4], KEYS[5], at)
write_entry(KEYS[2], ARGV[1], entry)
return 1
"""
)

# Puts a claimed entry back when its send failed, unless something else has moved it since.
# KEYS: due, bucket
# ARGV: id, claimed next due ("" if the claim finished it), old due, old slot, version.
UNCLAIM = (
    _ENTRY
    + """
local entry = read_entry(KEYS[2], ARGV[1])
if not entry or entry.version ~= ARGV[5] then return 0 end
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if due then return 0 end
elseif not due or tonumber(due) ~= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
entry.slot = ARGV[4]
entry.state = 'active'
write_entry(KEYS[2], ARGV[1], entry)
return 1
"""
)

# Records what a firing did: run records, the run count, task ids in flight.
# KEYS: bucket, runs, inflight
# ARGV: id, then from ARGV[2]: runs kept, sent count, last run ms, drop in-flight ids sent
#       before this ms, record count n, n records, in-flight count m, m pairs (task id,
#       sent ms), then task ids known to have finished.
# Returns 0 when the schedule was deleted meanwhile (nothing is written).
RECORD = (
    _ENTRY
    + _RECORD
    + """
local entry = read_entry(KEYS[1], ARGV[1])
if not entry then return 0 end
record(entry, KEYS[2], KEYS[3], 2)
write_entry(KEYS[1], ARGV[1], entry)
return 1
"""
)
