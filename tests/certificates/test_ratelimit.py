"""Rate limits on /verify: per client address per minute, in memory or shared through Redis.

The Redis tests use the real server on 127.0.0.1:6379 (database 15) under a key
prefix of their own, deleted afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager

import pytest
from redis import Redis

from certify.certificates.numbering import format_number
from certify.core import ratelimit
from certify.core.ratelimit import MemoryCounter, RateLimiter, RedisCounter
from tests.people import csrf_token

REDIS_URL = "redis://127.0.0.1:6379/15"


@contextmanager
def verify_limit(app, per_minute: int, limiter: RateLimiter | None = None):
    """Run with VERIFY_PER_MINUTE (and optionally the limiter) replaced, then restore."""
    saved_limit = app.config["VERIFY_PER_MINUTE"]
    saved_limiter = app.extensions.get(ratelimit.EXTENSION)
    app.config["VERIFY_PER_MINUTE"] = per_minute
    app.extensions[ratelimit.EXTENSION] = limiter or RateLimiter(MemoryCounter())
    try:
        yield app.extensions[ratelimit.EXTENSION]
    finally:
        app.config["VERIFY_PER_MINUTE"] = saved_limit
        if saved_limiter is None:
            app.extensions.pop(ratelimit.EXTENSION, None)
        else:
            app.extensions[ratelimit.EXTENSION] = saved_limiter


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in Redis database 15, emptied afterwards."""
    client = Redis.from_url(REDIS_URL)
    prefix = f"test:ratelimit:{uuid.uuid4().hex}:"
    try:
        yield client, prefix
    finally:
        names = list(client.scan_iter(match=prefix + "*"))
        if names:
            client.delete(*names)
        client.close()


def at(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


# --- Through the pages ---------------------------------------------------------------

def test_lookups_past_the_limit_get_429_with_retry_after(app, client, world, issued):
    code = issued.verification_code
    with verify_limit(app, 3):
        assert client.get(f"/verify/{code}", **at("192.0.2.10")).status_code == 200
        assert client.get(f"/verify/{code}.json", **at("192.0.2.10")).status_code == 200
        unknown = format_number("NCOL", 2026, 999)
        assert client.get("/verify", query_string={"number": unknown},
                          **at("192.0.2.10")).status_code == 404
        # The blank form is not a look-up and is never refused.
        assert client.get("/verify", **at("192.0.2.10")).status_code == 200

        refused = client.get(f"/verify/{code}", **at("192.0.2.10"))
        assert refused.status_code == 429
        seconds = int(refused.headers["Retry-After"])
        assert 1 <= seconds <= 60
        page = refused.get_data(as_text=True)
        assert "Too many checks" in page and f"Try again in {seconds} second" in page
        assert "more than 3 checks in a minute" in page
        assert "Chen Candidate" not in page

        machine = client.get(f"/verify/{code}.json", **at("192.0.2.10"))
        assert machine.status_code == 429
        assert machine.get_json()["status"] == "rate-limited"
        assert machine.headers["Retry-After"]
        assert machine.headers["Access-Control-Allow-Origin"] == "*"

        # Every /verify look-up shares the allowance: PDF and credential checks too.
        for path in ("/verify/pdf", "/verify/credential"):
            token_page = client.get("/verify", **at("192.0.2.10")).get_data(as_text=True)
            posted = client.post(path, data={"csrf_token": csrf_token(token_page)},
                                 **at("192.0.2.10"))
            assert posted.status_code == 429, path

        # Another address has its own allowance.
        assert client.get(f"/verify/{code}", **at("192.0.2.11")).status_code == 200


def test_pdf_and_credential_checks_count(app, client):
    with verify_limit(app, 2):
        token = csrf_token(client.get("/verify", **at("192.0.2.20")).get_data(as_text=True))
        for _ in range(2):
            answer = client.post("/verify/credential",
                                 data={"csrf_token": token, "credential": "x"},
                                 **at("192.0.2.20"))
            assert answer.status_code == 200
        assert client.get("/verify", query_string={"number": "x"},
                          **at("192.0.2.20")).status_code == 429


def test_the_limit_is_shared_through_redis(app, client, world, issued, redis_prefix):
    redis_client, prefix = redis_prefix
    first = RateLimiter(RedisCounter(redis_client, prefix))
    # A second web process: its own limiter and connection, the same Redis and prefix.
    second = RateLimiter(RedisCounter(Redis.from_url(REDIS_URL), prefix))
    code = issued.verification_code
    with verify_limit(app, 2, first):
        assert client.get(f"/verify/{code}", **at("192.0.2.30")).status_code == 200
        assert second.hit("verify", "192.0.2.30", 2).allowed  # the other process's request
        refused = client.get(f"/verify/{code}", **at("192.0.2.30"))
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    keys = list(redis_client.scan_iter(match=prefix + "*"))
    assert keys == [f"{prefix}verify:192.0.2.30".encode()]
    assert 0 < redis_client.ttl(keys[0]) <= 60
    second.counter.client.close()


# --- The counters ----------------------------------------------------------------

def test_the_memory_counter_opens_a_new_window_when_one_ends():
    now = [1000.0]
    limiter = RateLimiter(MemoryCounter(clock=lambda: now[0]))
    assert [limiter.hit("verify", "a", 2).allowed for _ in range(3)] == [True, True, False]
    now[0] += 45
    refused = limiter.hit("verify", "a", 2)
    assert not refused.allowed and refused.retry_after == 15 and refused.count == 4
    assert limiter.hit("verify", "b", 2).allowed  # another client
    now[0] += 15
    assert limiter.hit("verify", "a", 2) == ratelimit.Decision(True, 1, 2, 60)


def test_the_memory_counter_stays_bounded():
    now = [0.0]
    counter = MemoryCounter(max_keys=3, clock=lambda: now[0])
    for n in range(10):
        counter.hit(f"client-{n}", 60)
        assert len(counter) <= 3
    # Expired windows go first; live ones only when there is no other room.
    now[0] = 61
    counter.hit("fresh", 60)
    assert len(counter) == 1


def test_the_memory_counter_counts_every_thread():
    counter = MemoryCounter()
    threads = [threading.Thread(target=lambda: [counter.hit("k", 60) for _ in range(200)])
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.hit("k", 60)[0] == 8 * 200 + 1


def test_the_redis_counter_counts_in_a_window_with_an_expiry(redis_prefix):
    client, prefix = redis_prefix
    limiter = RateLimiter(RedisCounter(client, prefix))
    decisions = [limiter.hit("verify", "198.51.100.1", 3, window=30) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.count for d in decisions] == [1, 2, 3, 4]
    assert 1 <= decisions[-1].retry_after <= 30
    name = f"{prefix}verify:198.51.100.1"
    assert int(client.get(name)) == 4
    assert 0 < client.pttl(name) <= 30_000
    limiter.reset()
    assert list(client.scan_iter(match=prefix + "*")) == []


def test_the_redis_window_ends_and_a_new_one_opens(redis_prefix):
    client, prefix = redis_prefix
    counter = RedisCounter(client, prefix)
    assert counter.hit("k", 60)[0] == 1
    client.pexpire(prefix + "k", 1)  # the window ends
    time.sleep(0.01)
    count, remaining = counter.hit("k", 60)
    assert count == 1 and 59 < remaining <= 60


def test_an_unreachable_redis_falls_back_to_counting_here():
    limiter = ratelimit.build_limiter("redis://127.0.0.1:1/15")
    assert isinstance(limiter.counter, RedisCounter)
    assert [limiter.hit("verify", "a", 1).allowed for _ in range(2)] == [True, False]
    limiter.counter.client.close()


def test_the_application_picks_redis_when_it_is_configured(app):
    saved = app.extensions.pop(ratelimit.EXTENSION, None)
    saved_url = app.config["REDIS_URL"]
    try:
        app.config["REDIS_URL"] = REDIS_URL
        chosen = ratelimit.limiter(app)
        assert isinstance(chosen.counter, RedisCounter)
        assert ratelimit.limiter(app) is chosen
        chosen.counter.client.close()
        app.extensions.pop(ratelimit.EXTENSION)
        app.config["REDIS_URL"] = ""
        assert isinstance(ratelimit.limiter(app).counter, MemoryCounter)
    finally:
        app.config["REDIS_URL"] = saved_url
        if saved is None:
            app.extensions.pop(ratelimit.EXTENSION, None)
        else:
            app.extensions[ratelimit.EXTENSION] = saved
