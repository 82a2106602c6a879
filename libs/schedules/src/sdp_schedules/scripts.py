"""The store's Lua scripts: each write is one atomic step, so readers never see half of one.

Names are kept in one ZSET as "name/id" members ("/" cannot appear in a name), which gives
unique names, lexical listing and prefix search from one structure.
"""

from __future__ import annotations

__all__ = [
    "ADVANCE",
    "CLAIM",
    "CREATE_MANY",
    "DELETE",
    "FIRE",
    "PEEK",
    "PUT",
    "RECORD",
    "UNCLAIM",
]

# KEYS: entry, names, due, paused, channel, static
# ARGV: id, expected version ("" to create), old name ("" to create), new name,
#       due ms ("" = not due, "keep" = leave as is), paused "1"/"0", static "1"/"0",
#       then field/value pairs ("" deletes the field).
# Returns the new version, or -1 version moved on, -2 name taken, -3 id exists, -4 no entry.
PUT = """
local id = ARGV[1]
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[2] == '' then
  if current then return -3 end
else
  if not current then return -4 end
  if current ~= ARGV[2] then return -1 end
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
for i = 8, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
local version = (tonumber(current) or 0) + 1
redis.call('HSET', KEYS[1], 'version', version)
redis.call('PUBLISH', KEYS[5], id)
return version
"""

# Creates many schedules in one call (bulk loads); publishes "*" once at the end.
# KEYS: names, due, paused, channel.  ARGV: created ms, key prefix, then per schedule
# 6 values: id, name, due ms ("" = not due), state, slot ("" = none), spec.
# Returns one code per schedule: 1 created, -2 name taken, -3 id exists.
CREATE_MANY = """
local codes = {}
for i = 3, #ARGV, 6 do
  local id, name, due, state, slot = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local entry = ARGV[2] .. id
  local code = 1
  if redis.call('EXISTS', entry) == 1 then
    code = -3
  elseif #redis.call('ZRANGEBYLEX', KEYS[1], '[' .. name .. '/', '[' .. name .. '/\255',
                     'LIMIT', 0, 1) > 0 then
    code = -2
  else
    redis.call('ZADD', KEYS[1], 0, name .. '/' .. id)
    if due ~= '' then redis.call('ZADD', KEYS[2], due, id) end
    if state == 'paused' then redis.call('ZADD', KEYS[3], 0, name .. '/' .. id) end
    redis.call('HSET', entry, 'spec', ARGV[i + 5], 'state', state, 'created', ARGV[1],
               'updated', ARGV[1], 'version', 1)
    if slot ~= '' then redis.call('HSET', entry, 'slot', slot) end
  end
  codes[#codes + 1] = code
end
redis.call('PUBLISH', KEYS[4], '*')
return codes
"""

# KEYS: entry, names, due, paused, runs, inflight, channel, static
# ARGV: id, expected version, name.  Returns 1, or -1 version moved on, -4 no entry.
DELETE = """
local current = redis.call('HGET', KEYS[1], 'version')
if not current then return -4 end
if current ~= ARGV[2] then return -1 end
redis.call('ZREM', KEYS[2], ARGV[3] .. '/' .. ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[3] .. '/' .. ARGV[1])
redis.call('DEL', KEYS[1], KEYS[5], KEYS[6])
redis.call('SREM', KEYS[8], ARGV[1])
redis.call('PUBLISH', KEYS[7], ARGV[1])
return 1
"""

# A leader's tick in one round trip: extend the lock, read what is due and the next due time.
# KEYS: leader, due.  ARGV: token, ttl ms, now ms, limit.
# Returns {0} when the token no longer holds the lock, else {1, due ids with scores, first}.
PEEK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'WITHSCORES', 'LIMIT', 0, ARGV[4])
return {1, due, redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')}
"""

# Moves an entry (KEYS[1] due set, KEYS[2] its hash, ARGV[1] its id) on to its next slot and
# due time, or finishes it when there is no next slot.
_MOVE_ON = """
local function move_on(slot, due_at)
  if slot == '' then
    redis.call('ZREM', KEYS[1], ARGV[1])
    redis.call('HDEL', KEYS[2], 'slot')
    redis.call('HSET', KEYS[2], 'state', 'finished')
  else
    redis.call('ZADD', KEYS[1], due_at, ARGV[1])
    redis.call('HSET', KEYS[2], 'slot', slot)
  end
end
"""

# The claim checks shared by CLAIM and FIRE: the token holds the lock, the entry is due at the
# time read and its definition is unchanged; then the entry moves on.
_CLAIM = (
    _MOVE_ON
    + """
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return -1 end
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) ~= tonumber(ARGV[2]) then return 0 end
if redis.call('HGET', KEYS[2], 'version') ~= ARGV[4] then return 0 end
move_on(ARGV[5], ARGV[6])
"""
)

# Advances one due entry past the slots a scheduler is about to send.  The fencing token must
# still hold the leader lock, the entry must still be due at the time the scheduler read, and
# its definition must not have changed since; so a slot is claimed once, by the current leader.
# KEYS: due, entry, leader
# ARGV: id, expected due, token, version, next slot ("" = no more slots), next due.
# Returns 1 claimed, 0 lost the race (entry moved on), -1 not the leader.
CLAIM = _CLAIM + "return 1\n"

# The in-process engine's claim: it knows the slot it is running rather than the due time, so
# it compares the stored slot instead.
# KEYS: due, entry, leader
# ARGV: id, expected slot, token, next slot ("" = no more slots), next due.
# Returns 1 advanced, 0 the slot moved on (another run took it), -1 not the leader.
ADVANCE = (
    _MOVE_ON
    + """
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return -1 end
if redis.call('HGET', KEYS[2], 'slot') ~= ARGV[2] then return 0 end
if redis.call('HGET', KEYS[2], 'state') ~= 'active' then return 0 end
move_on(ARGV[4], ARGV[5])
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
    redis.call('HINCRBY', entry, 'runs', ARGV[at + 1])
    redis.call('HSET', entry, 'last', ARGV[at + 2])
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
# the slot moves on, its task messages are on their queues and the runs are in the history,
# or none of it happened.  A leader killed at any moment therefore neither loses nor doubles
# a slot.  The messages are exactly the LPUSHes kombu would have run.
# KEYS: due, entry, leader, runs, inflight
# ARGV: the six of CLAIM, push count p, p pairs (list key, payload), then RECORD's ARGV.
# Returns 1 fired, 0 lost the race (nothing written), -1 not the leader.
FIRE = (
    _RECORD
    + _CLAIM
    + """
local pushes = tonumber(ARGV[7])
for k = 0, pushes - 1 do
  redis.call('LPUSH', ARGV[8 + 2 * k], ARGV[9 + 2 * k])
end
record(KEYS[2], KEYS[4], KEYS[5], 8 + 2 * pushes)
return 1
"""
)

# Puts a claimed entry back when its send failed, unless something else has moved it since.
# KEYS: due, entry
# ARGV: id, claimed next due ("" if the claim finished it), old due, old slot, version.
UNCLAIM = """
if redis.call('HGET', KEYS[2], 'version') ~= ARGV[5] then return 0 end
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if due then return 0 end
elseif not due or tonumber(due) ~= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], 'slot', ARGV[4], 'state', 'active')
return 1
"""

# Records what a firing did: run records, the run count, task ids in flight.
# KEYS: entry, runs, inflight
# ARGV: runs kept, sent count, last run ms, drop in-flight ids sent before this ms,
#       record count n, n records, in-flight count m, m pairs (task id, sent ms),
#       then task ids known to have finished.
# Returns 0 when the schedule was deleted meanwhile (nothing is written).
RECORD = (
    _RECORD
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
record(KEYS[1], KEYS[2], KEYS[3], 1)
return 1
"""
)
