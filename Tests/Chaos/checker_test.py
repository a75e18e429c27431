#!/usr/bin/env python3
"""The checker's own test: a Redis of its own holding a keyspace with one planted fault per rule,
and a history that acknowledges what is not there. Every rule must speak up, and a clean keyspace
must pass; a checker that never fails would prove nothing about the scenarios.

Run by ./dev chaos and ./dev test before the scenarios: python3 Tests/Chaos/checker_test.py
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checker import check  # noqa: E402
from load import History  # noqa: E402
from topology import Process, free_port, wait_until  # noqa: E402
from resp import Redis  # noqa: E402

S = "probe:{probe:0}:"


def task(redis, task_id, statuses, ttl=True, idempotency_key=None, skip_version=False):
    """A task whose stream holds one event per status, versions from 1, hash matching the last."""
    version = 0
    for n, status in enumerate(statuses):
        version += 2 if skip_version and n == 1 else 1
        kind = "created" if n == 0 else "status"
        redis.call("XADD", f"{S}task:{task_id}:events", "*", "kind", kind, "status", status, "version", version, "progress", 0)
    fields = ["status", statuses[-1], "version", version, "attempt", 1]
    if idempotency_key:
        fields += ["idempotencyKey", idempotency_key]
    redis.call("HSET", f"{S}task:{task_id}", *fields)
    if ttl and statuses[-1] in ("completed", "failed", "cancelled", "dismissed"):
        redis.call("PEXPIRE", f"{S}task:{task_id}", 500000)
        redis.call("PEXPIRE", f"{S}task:{task_id}:events", 500000)


def acknowledge(history, task_id, key):
    history.add({"client": "probe", "op": "create", "task": task_id, "key": key, "status": 202,
                 "start": time.time(), "mono": time.monotonic()})


def main():
    directory = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".dev", "chaos", "checker-test")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    port = free_port()
    server = Process("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                               "--dir", directory], dict(os.environ), os.path.join(directory, "redis.log"))
    server.start()
    failures = []
    try:
        if not wait_until(lambda: Redis("127.0.0.1", port).call("PING") == "PONG", 10):
            raise RuntimeError("redis-server did not start")
        redis = Redis("127.0.0.1", port)

        clean = History()
        task(redis, "ok1", ["queued", "starting", "running", "completed"], idempotency_key="k-ok1")
        acknowledge(clean, "ok1", "k-ok1")
        verdict = check("clean", clean, [], redis, "probe")
        if not verdict.passed:
            failures.append(f"a clean keyspace failed: {verdict.failures}")

        planted = History()
        acknowledge(planted, "ok1", "k-ok1")
        task(redis, "illegal", ["queued", "completed"])
        task(redis, "skipped", ["queued", "starting", "running", "completed"], skip_version=True)
        task(redis, "no-ttl", ["queued", "starting", "completed"], ttl=False)
        task(redis, "twin-a", ["queued"], idempotency_key="k-twin")
        task(redis, "twin-b", ["queued"], idempotency_key="k-twin")
        redis.call("ZADD", f"{S}leases", 1, "ghost")
        redis.call("ZADD", f"{S}index:finished", 1, "long-gone")
        acknowledge(planted, "missing", "k-missing")
        acknowledge(planted, "twin-a", "k-twin")
        verdict = check("planted", planted, [], redis, "probe", expect_terminal=False)
        said = "\n".join(verdict.failures)
        for rule, needle in [("legal paths", "illegal: queued → completed"), ("legal paths", "skipped: version 1 → 3"),
                             ("bounded state", "finished no-ttl without a TTL"), ("idempotency", "k-twin has 2 tasks in Redis"),
                             ("bounded state", "leases holds ghost"), ("bounded state", "index:finished holds long-gone"),
                             ("no loss", "missing")]:
            if not any(line.startswith(rule) and needle in line for line in verdict.failures):
                failures.append(f"the {rule} rule missed the planted fault ({needle}); it said:\n{said}")
    finally:
        server.stop()
    for failure in failures:
        print(f"checker test: FAIL: {failure}")
    if not failures:
        print("checker test: PASS (a clean keyspace passes; each of 7 planted faults is reported by its rule)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
