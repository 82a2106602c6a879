"""The firing engine's leader lock with fencing tokens.

The lock's value is ``"<token>:<node>"``, the token drawn from a counter that only grows.  Each
slot claim checks in Redis that the value is still the claimer's, so a leader that stalled past
its TTL cannot fire even if it still believes it leads.
"""

from __future__ import annotations

import redis

from sdp_core import keys
from sdp_core.replies import text

__all__ = ["LeaderLock"]

# KEYS: lock, fence counter.  ARGV: node, ttl ms, "1" to take over a lock this node left behind.
_ACQUIRE = """
local current = redis.call('GET', KEYS[1])
if current then
  if ARGV[3] ~= '1' or string.match(current, '^%d+:(.*)$') ~= ARGV[1] then return false end
end
local value = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value
"""

# Extends to now + ttl (not by ttl), so a lock never outlives its holder by more than one TTL.
_EXTEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""


class LeaderLock:
    def __init__(
        self,
        client: redis.Redis,
        node: str,
        ttl_ms: int,
        *,
        key: str = keys.SCHEDULE_LEADER,
        fence_key: str = keys.SCHEDULE_FENCE,
    ) -> None:
        self.node = node
        self.ttl_ms = ttl_ms
        self.key = key
        self.token: str | None = None
        self._client = client
        self._fence_key = fence_key
        self._acquire = client.register_script(_ACQUIRE)
        self._extend = client.register_script(_EXTEND)
        self._release = client.register_script(_RELEASE)
        # A restarted process under the same node name takes its old lock over at once rather
        # than waiting out the TTL; after that it competes like everyone else.
        self._first_attempt = True

    @property
    def held(self) -> bool:
        return self.token is not None

    def ensure(self) -> bool:
        """Extend the lock if held, else try to take it; True while this node leads."""
        if self.token is not None:
            if self._extend(keys=[self.key], args=[self.token, self.ttl_ms]):
                return True
            self.token = None
        takeover = "1" if self._first_attempt else "0"
        self._first_attempt = False
        value = self._acquire(
            keys=[self.key, self._fence_key], args=[self.node, self.ttl_ms, takeover]
        )
        self.token = None if value is None else text(value)
        return self.token is not None

    def step_down(self) -> None:
        """Forget the lock locally (e.g. after an error); it expires unless extended."""
        self.token = None

    def release(self) -> None:
        if self.token is not None:
            self._release(keys=[self.key], args=[self.token])
            self.token = None

    def holder(self) -> str | None:
        """The node that holds the lock now, if any."""
        value = self._client.get(self.key)
        if value is None:
            return None
        return text(value).split(":", 1)[1]
