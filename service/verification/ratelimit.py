"""A per-client token bucket, in process memory.

Enough for the embedded default (one process); behind several workers each
counts on its own, so the effective limit is workers × rate. With ``ZC_REDIS_URL`` the
same bucket lives in Redis and every process and machine shares it.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

log = logging.getLogger(__name__)


class Limiter(Protocol):
    """What a route asks of a rate limiter, wherever its buckets live."""

    def take(self, client: str) -> float:
        """Take one token for ``client``: 0 if allowed now, else the seconds to wait."""
        ...

    def retry_after(self, wait: float) -> str:
        """``wait`` as a ``Retry-After`` header value."""
        ...


class RateLimiter:
    def __init__(self, rate_per_minute: float, burst: int, max_clients: int = 100_000, clock=time.monotonic):
        self.rate = rate_per_minute / 60.0
        self.burst = burst
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the request may go on, else the seconds to wait before the next one."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[client] = (tokens, now)
                wait = (1 - tokens) / self.rate
            # Forget the clients seen longest ago: memory stays bounded under a flood of addresses.
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))


# The same token bucket kept in Redis, so that every service process (and machine) counts
# against one limit. One script call per request: read, refill, take, write, expire.
_TAKE = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens, last = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, last = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisRateLimiter:
    """``RateLimiter`` shared through Redis (``ZC_REDIS_URL``). If Redis cannot be reached
    the request is let through (and logged): a lookup limit must not take the public
    verification down with it."""

    def __init__(self, url: str, rate_per_minute: float, burst: int, prefix: str = "zc:verify:", clock=time.time):
        import redis  # only deployments that share limits need the client

        self.rate = rate_per_minute / 60.0
        self.burst = burst
        self._prefix = prefix
        self._clock = clock
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._take = self._redis.register_script(_TAKE)
        self._errors = (redis.RedisError, OSError)

    def take(self, client: str) -> float:
        try:
            return float(self._take(keys=[self._prefix + client], args=[self.rate, self.burst, self._clock()]))
        except self._errors as exc:
            log.warning("rate limit not counted: Redis unavailable (%s)", exc)
            return 0.0

    retry_after = staticmethod(RateLimiter.retry_after)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[str]) -> str:
    """Who the client is: the peer, unless the peer is a trusted proxy; then the address
    the proxies saw, read right to left past every trusted hop (as uvicorn's
    ``--forwarded-allow-ips`` does). A header from anyone else is ignored: it is written
    by the client and would let it pick a fresh address for every request."""
    networks = [ipaddress.ip_network(t, strict=False) for t in trusted]
    if not peer or not forwarded_for or not _within(peer, networks):
        return peer or "unknown"
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _within(hop, networks):
            return hop
    return hops[0] if hops else peer


def is_trusted_proxy(peer: str | None, trusted: Sequence[str]) -> bool:
    """The peer is one of the proxies whose forwarded headers the service believes."""
    if not peer:
        return False
    return _within(peer, [ipaddress.ip_network(t, strict=False) for t in trusted])


def _within(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
