"""Fixed-window rate limits per client address, shared by every web process when Redis is set.

A limit allows ``limit`` requests in a window of ``window`` seconds that opens
with a client's first request in a scope ("verify"); past it the client is told
how many seconds remain (the Retry-After header).

Where the counts live:

- with ``REDIS_URL`` set, in Redis (``RedisCounter``): the window's key is
  created with its expiry and incremented in one MULTI/EXEC transaction, so
  every web process on every host counts against the same allowance and a key
  can never outlive its window.  If Redis cannot be reached, counting falls back
  to this process's memory (logged) rather than refusing or allowing everyone;
- otherwise in this process's memory (``MemoryCounter``): a lock-guarded dict of
  windows, bounded in size (expired windows are pruned first, then the oldest).

The client is ``request.remote_addr``.  Behind a reverse proxy or a load
balancer that is the proxy's address for every request, so everyone would share
one allowance: the WSGI server must put the client's address there, for
example by wrapping the application in ``werkzeug.middleware.proxy_fix.ProxyFix``
(``x_for`` = the number of trusted proxies in front) or with gunicorn's
``--forwarded-allow-ips``.  A forwarded-for header is never read here, since a
client could write any address into it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, current_app, request

log = logging.getLogger(__name__)

EXTENSION = "certify.ratelimit"
KEY_PREFIX = "certify:ratelimit:"
# A dead Redis must not hold every request up for long before the fallback counts.
REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class Decision:
    """The outcome of one request's count: allowed or not, and when a refused client may
    try again (seconds until its window closes, at least 1)."""

    allowed: bool
    count: int
    limit: int
    retry_after: int


class CounterUnavailable(RuntimeError):
    """The shared counter could not be reached (Redis down, timed out, refused)."""


class Counter(Protocol):
    def hit(self, key: str, window: int) -> tuple[int, float]:
        """Count one request under ``key``; the count in its window and the seconds left."""

    def reset(self) -> None:
        """Forget every count (tests, and an operator lifting a block)."""


class MemoryCounter:
    """Counts in this process; right for one web process (threads share it)."""

    def __init__(self, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        # key -> [window end, count]; insertion order is the order windows opened.
        self._windows: dict[str, list[float]] = {}

    def __len__(self) -> int:
        return len(self._windows)

    def hit(self, key: str, window: int) -> tuple[int, float]:
        now = self._clock()
        with self._lock:
            entry = self._windows.get(key)
            if entry is None or entry[0] <= now:
                self._windows.pop(key, None)
                if len(self._windows) >= self.max_keys:
                    self._prune(now)
                entry = self._windows[key] = [now + window, 0]
            entry[1] += 1
            return int(entry[1]), entry[0] - now

    def _prune(self, now: float) -> None:
        for key in [k for k, (end, _count) in self._windows.items() if end <= now]:
            del self._windows[key]
        # Still full of live windows (many addresses at once): the oldest go first.
        while len(self._windows) >= self.max_keys:
            del self._windows[next(iter(self._windows))]

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


class RedisCounter:
    """Counts in Redis, shared by every process that uses the same server and prefix."""

    def __init__(self, client: Any, prefix: str = KEY_PREFIX):
        self.client = client
        self.prefix = prefix

    def hit(self, key: str, window: int) -> tuple[int, float]:
        from redis.exceptions import RedisError

        name = self.prefix + key
        pipeline = self.client.pipeline(transaction=True)
        # SET NX EX opens the window with its expiry; INCR keeps that expiry.  Both run in
        # one transaction, so no key is ever left without one.
        pipeline.set(name, 0, ex=window, nx=True)
        pipeline.incr(name)
        pipeline.pttl(name)
        try:
            _created, count, remaining_ms = pipeline.execute()
        except RedisError as error:
            raise CounterUnavailable(str(error)) from error
        remaining = remaining_ms / 1000 if remaining_ms and remaining_ms > 0 else window
        return int(count), remaining

    def reset(self) -> None:
        names = list(self.client.scan_iter(match=self.prefix + "*", count=500))
        if names:
            self.client.delete(*names)


class RateLimiter:
    """Counts requests per scope and client against a limit per window."""

    def __init__(self, counter: Counter, fallback: MemoryCounter | None = None):
        self.counter = counter
        self.fallback = fallback

    def hit(self, scope: str, client: str, limit: int, window: int = 60) -> Decision:
        key = f"{scope}:{client}"
        try:
            count, remaining = self.counter.hit(key, window)
        except CounterUnavailable:
            if self.fallback is None:
                raise
            log.warning("rate limit counter unavailable; counting in this process",
                        exc_info=True)
            count, remaining = self.fallback.hit(key, window)
        return Decision(allowed=count <= limit, count=count, limit=limit,
                        retry_after=max(1, math.ceil(remaining)))

    def reset(self) -> None:
        self.counter.reset()
        if self.fallback is not None:
            self.fallback.reset()


def build_limiter(redis_url: str) -> RateLimiter:
    """A limiter counting in Redis at ``redis_url``, or in memory when it is empty."""
    if not redis_url:
        return RateLimiter(MemoryCounter())
    from redis import Redis

    client = Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                            socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
    return RateLimiter(RedisCounter(client), fallback=MemoryCounter())


def limiter(app: Flask | None = None) -> RateLimiter:
    """The application's limiter, made on first use from its REDIS_URL."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = app.extensions.setdefault(EXTENSION, build_limiter(app.config.get("REDIS_URL")
                                                                    or ""))
    return found


def client_address() -> str:
    """The address requests are counted under (see the module docstring about proxies)."""
    return request.remote_addr or "unknown"


def hit(scope: str, setting: str, window: int = 60) -> Decision:
    """Count this request in ``scope`` against the limit in ``app.config[setting]``."""
    return limiter().hit(scope, client_address(), int(current_app.config[setting]), window)
