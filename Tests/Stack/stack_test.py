#!/usr/bin/env python3
"""The stack test: `./dev stack` (Redis with AOF, three taskd replicas, HAProxy, the demo worker,
all from Docker/'s files), task lifecycles driven through HAProxy, one replica frozen for a second
midway (requests in flight on it) and then SIGKILLed.

Checks that
  - no acknowledged create is lost: every task whose POST /v1/tasks was answered 202 (or 200, a
    replay of the same Idempotency-Key) exists and reaches a terminal state (the demo worker runs
    it to completed, or to failed after its retries);
  - clients see only successes or 503s: HAProxy sends what the dead replica never answered to
    another one (retry-on, option redispatch), so a 502, 504, another status, a reset connection
    or a client timeout fails the test;
  - HAProxy marks the dead replica DOWN, and the stack stops on SIGTERM with every process gone.
Prints the figures: created, replayed, completed, failed, errors by kind, time until HAProxy took
the replica out, slowest request around the kill, the requests HAProxy repeated.

Run by `./dev test` (with TASKD_STACK_BIN_DIR set to its debug build), or alone:
  python3 Tests/Stack/stack_test.py        (./dev stack builds taskd first)
Bounds are generous: it must pass on a loaded 2-core machine. About a minute.
"""
import base64
import collections
import csv
import http.client
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Chaos"))
from load import one_request  # noqa: E402  (the fault suite's HTTP call, shared)
STATE = os.path.join(ROOT, ".dev")
STACK_DIR = os.path.join(STATE, "stack")
STACK_ENV = os.path.join(STACK_DIR, "stack.env")

CLIENTS = 4                   # threads creating and reading tasks through HAProxy
PAUSE = 0.05                  # seconds between one client's lifecycles
BEFORE_KILL = 7.0             # seconds of load before the replica is frozen
FROZEN = 1.0                  # seconds it is frozen before it is killed
AFTER_KILL = 12.0             # seconds of load after it
STACK_START_TIMEOUT = 1800.0  # ./dev stack may have to build taskd first
DRAIN_TIMEOUT = 180.0         # every acknowledged task terminal by then
DOWN_TIMEOUT = 20.0           # HAProxy marks the dead replica DOWN by then (2 checks 1 s apart)
STOP_TIMEOUT = 90.0           # the stack is gone after SIGTERM by then
REQUEST_TIMEOUT = 30.0
HTTPLOG = re.compile(r'\] \S+ \S+ \S+/(?P<total>\d+) (?P<status>\d{3}) \d+ \S+ \S+ \S+ \d+/\d+/\d+/\d+/(?P<retries>\+?\d+) \S+ "(?P<method>[A-Z]+) ')
TERMINAL = {"completed", "failed", "cancelled", "dismissed"}
COMMAND_TYPES = ["backup", "reshard", "create_db", "delete_db"]


def log(message):
    print(f"stack test: {message}", flush=True)


def read_stack_env():
    values = {}
    with open(STACK_ENV) as f:
        for line in f:
            name, _, value = line.rstrip("\n").partition("=")
            values[name] = value
    return values


class Client:
    """One HTTP/1.1 request per connection through HAProxy, so an error is the service's, never
    a stale keep-alive connection's."""

    def __init__(self, url, credential):
        host_port = url.removeprefix("http://")
        self.host, _, port = host_port.partition(":")
        self.port = int(port)
        self.authorization = "Basic " + base64.b64encode(credential.encode()).decode()

    def call(self, method, path, body=None, headers=None):
        status, _, document, _ = one_request(self.host, self.port, self.authorization, method, path, body, headers, REQUEST_TIMEOUT)
        return status, document


class Figures:
    def __init__(self):
        self.lock = threading.Lock()
        self.acknowledged = {}               # task id -> status of its create (202, or 200 replayed)
        self.created_after_kill = 0
        self.reads = 0
        self.errors = collections.Counter()  # kind -> count
        self.examples = {}                   # kind -> the first message of that kind
        self.latencies = []                  # (time sent, seconds taken)

    def error(self, kind, example):
        with self.lock:
            self.errors[kind] += 1
            self.examples.setdefault(kind, example)


def drive(client, figures, stop, killed_at):
    """Create a task (with an Idempotency-Key, so HAProxy may repeat the POST), read it back."""
    while not stop.is_set():
        key = str(uuid.uuid4())
        body = {"commandType": random.choice(COMMAND_TYPES), "objectName": "stack-test", "ops": ["1"], "maxAttempts": 3}
        started = time.monotonic()
        try:
            status, document = client.call("POST", "/v1/tasks", body, {"Idempotency-Key": key})
        except TimeoutError as e:
            figures.error("create: client timeout", repr(e))
            continue
        except OSError as e:
            figures.error(f"create: {type(e).__name__}", repr(e))
            continue
        except http.client.HTTPException as e:
            figures.error(f"create: {type(e).__name__}", repr(e))
            continue
        taken = time.monotonic() - started
        with figures.lock:
            figures.latencies.append((started, taken))
        if status in (200, 202) and document and document.get("taskId"):
            task_id = document["taskId"]
            with figures.lock:
                figures.acknowledged[task_id] = status
                if killed_at[0] is not None and started > killed_at[0]:
                    figures.created_after_kill += 1
            try:
                read_status, _ = client.call("GET", f"/v1/tasks/{task_id}")
                with figures.lock:
                    figures.reads += 1
                if read_status != 200:
                    figures.error(f"read: HTTP {read_status}", task_id)
            except (OSError, http.client.HTTPException) as e:
                figures.error(f"read: {type(e).__name__}", repr(e))
        else:
            figures.error(f"create: HTTP {status}", json.dumps(document)[:200] if document else "")
        stop.wait(PAUSE)


def haproxy_servers(stats_url):
    """Server name -> status (UP, DOWN, …) and the backend's retries and redispatches."""
    host_port = stats_url.removeprefix("http://").split("/")[0]
    host, _, port = host_port.partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", "/stats;csv")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    rows = list(csv.DictReader(io.StringIO(text.lstrip("# "))))
    servers = {r["svname"]: r["status"] for r in rows if r["pxname"] == "taskd" and r["svname"] not in ("FRONTEND", "BACKEND")}
    backend = next(r for r in rows if r["pxname"] == "taskd" and r["svname"] == "BACKEND")
    return servers, int(backend.get("wretr") or 0), int(backend.get("wredis") or 0)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone; the stack's children are reaped by the stack itself.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def main():
    failures = []
    os.makedirs(STATE, exist_ok=True)
    if os.path.exists(STACK_ENV):
        os.remove(STACK_ENV)
    stack_log_path = os.path.join(STATE, "stack-test.log")
    environment = dict(os.environ)
    # Fast demo operations, so a few hundred tasks finish within seconds; 10% of attempts fail and
    # are retried (maxAttempts 3), so some end failed: terminal too.
    environment.update({"TASKD_DEMO_STEP_MS": "5", "TASKD_DEMO_CONCURRENCY": "32", "TASKD_LOG_LEVEL": "warning"})
    with open(stack_log_path, "w") as stack_log:
        stack = subprocess.Popen([os.path.join(ROOT, "dev"), "stack"], stdout=stack_log, stderr=subprocess.STDOUT,
                                 env=environment, cwd=ROOT)
    pids = {}
    try:
        deadline = time.monotonic() + STACK_START_TIMEOUT
        started = time.monotonic()
        while not os.path.exists(STACK_ENV):
            if stack.poll() is not None or time.monotonic() > deadline:
                print(open(stack_log_path).read()[-3000:], file=sys.stderr)
                log("FAIL: ./dev stack did not come up")
                return 1
            time.sleep(0.2)
        values = read_stack_env()
        pids = {name.removeprefix("STACK_PID_"): int(value) for name, value in values.items() if name.startswith("STACK_PID_")}
        log(f"stack up in {time.monotonic() - started:.1f} s: {values['STACK_URL']}, pids {pids}")
        client = Client(values["STACK_URL"], values["STACK_ADMIN"])

        servers, _, _ = haproxy_servers(values["STACK_STATS_URL"])
        if set(servers.values()) != {"UP"}:
            # Two good checks 1 s apart after start; give them their time.
            time.sleep(3)
            servers, _, _ = haproxy_servers(values["STACK_STATS_URL"])
        log(f"HAProxy servers: {servers}")

        figures = Figures()
        stop = threading.Event()
        killed_at = [None]
        threads = [threading.Thread(target=drive, args=(client, figures, stop, killed_at), daemon=True) for _ in range(CLIENTS)]
        load_started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(BEFORE_KILL)
        # Frozen first, so that requests are in flight on it when it dies (they end in a reset
        # connection, which HAProxy must repeat elsewhere), then SIGKILL, as a node lost mid-request.
        victim = "taskd2"
        os.kill(pids[victim], signal.SIGSTOP)
        time.sleep(FROZEN)
        os.kill(pids[victim], signal.SIGKILL)
        killed_at[0] = time.monotonic()
        log(f"SIGKILL {victim} (pid {pids[victim]}) after {killed_at[0] - load_started:.1f} s of load, the last {FROZEN:.0f} s "
            f"of it frozen (SIGSTOP); {len(figures.acknowledged)} tasks acknowledged so far")
        down_after = None
        while time.monotonic() - killed_at[0] < DOWN_TIMEOUT:
            servers, _, _ = haproxy_servers(values["STACK_STATS_URL"])
            if servers.get(victim, "").startswith("DOWN"):
                down_after = time.monotonic() - killed_at[0]
                break
            time.sleep(0.1)
        remaining = AFTER_KILL - (time.monotonic() - killed_at[0])
        if remaining > 0:
            time.sleep(remaining)
        stop.set()
        for t in threads:
            t.join(REQUEST_TIMEOUT * 3)
        load_seconds = time.monotonic() - load_started
        servers, retries, redispatches = haproxy_servers(values["STACK_STATS_URL"])

        # Every acknowledged task: there, and terminal.
        drain_started = time.monotonic()
        pending = set(figures.acknowledged)
        outcome = collections.Counter()
        missing = []
        drain_errors = collections.Counter()
        while pending and time.monotonic() - drain_started < DRAIN_TIMEOUT:
            for task_id in sorted(pending):
                try:
                    status, document = client.call("GET", f"/v1/tasks/{task_id}")
                except (OSError, http.client.HTTPException) as e:
                    drain_errors[type(e).__name__] += 1
                    continue
                if status == 404:
                    missing.append(task_id)
                    pending.discard(task_id)
                elif status == 200 and document and document.get("lifecycleStatus") in TERMINAL:
                    outcome[document["lifecycleStatus"]] += 1
                    pending.discard(task_id)
                elif status != 200:
                    drain_errors[f"HTTP {status}"] += 1
            if pending:
                time.sleep(1)
        drain_seconds = time.monotonic() - drain_started

        around_kill = [taken for sent, taken in figures.latencies if killed_at[0] - FROZEN - 1 <= sent <= killed_at[0] + 5]
        elsewhere = sorted(taken for sent, taken in figures.latencies if not killed_at[0] - FROZEN - 1 <= sent <= killed_at[0] + 5)
        replayed = sum(1 for status in figures.acknowledged.values() if status == 200)
        log(f"load: {load_seconds:.1f} s, {CLIENTS} clients; created {len(figures.acknowledged)} "
            f"({figures.created_after_kill} after the kill; {replayed} answered 200, a replay of their Idempotency-Key), "
            f"{figures.reads} reads")
        errors = ", ".join(f"{kind}: {count}" for kind, count in sorted(figures.errors.items())) or "none"
        log(f"errors by kind: {errors}")
        for kind, example in figures.examples.items():
            log(f"  e.g. {kind}: {example}")
        log(f"HAProxy marked {victim} DOWN after {down_after:.2f} s" if down_after is not None
            else f"HAProxy did not mark {victim} DOWN within {DOWN_TIMEOUT:.0f} s")
        if around_kill:
            log(f"creates sent from 1 s before the freeze to 5 s after the kill: {len(around_kill)}, slowest {max(around_kill) * 1000:.0f} ms; "
                f"elsewhere median {elsewhere[len(elsewhere) // 2] * 1000 if elsewhere else 0:.0f} ms, "
                f"slowest {elsewhere[-1] * 1000 if elsewhere else 0:.0f} ms")
        log(f"HAProxy backend: {retries} retries, {redispatches} redispatches; servers now {servers}")
        repeated = collections.Counter()
        in_flight = 0
        with open(os.path.join(STACK_DIR, "haproxy.log")) as f:
            for line in f:
                # httplog: … status bytes - - flags actconn/feconn/beconn/srv_conn/retries (`+N`: redispatched) … "METHOD
                match = HTTPLOG.search(line)
                if match and match["retries"].lstrip("+") != "0":
                    repeated[f"{match['method']} {match['status']}"] += 1
                    in_flight += int(match["total"]) >= 500
        log(f"requests HAProxy sent again to another replica, by method and final status: {dict(repeated) or 'none'}; "
            f"of them in flight on the frozen replica when it died (half a second or more before their answer): {in_flight}")
        log(f"terminal after {drain_seconds:.1f} s of draining: {dict(outcome)}; missing (404): {len(missing)}; "
            f"not terminal: {len(pending)}" + (f"; drain errors {dict(drain_errors)}" if drain_errors else ""))

        if len(figures.acknowledged) < 50:
            failures.append(f"only {len(figures.acknowledged)} tasks were acknowledged: too little load to judge")
        if figures.created_after_kill < 10:
            failures.append(f"only {figures.created_after_kill} tasks were created after the kill")
        bad = {kind: count for kind, count in figures.errors.items() if not kind.endswith("HTTP 503")}
        if bad:
            failures.append(f"clients saw errors other than 503: {bad}")
        if missing:
            failures.append(f"{len(missing)} acknowledged tasks do not exist, e.g. {missing[:3]}")
        if pending:
            failures.append(f"{len(pending)} acknowledged tasks are not terminal after {DRAIN_TIMEOUT:.0f} s, e.g. {sorted(pending)[:3]}")
        if down_after is None:
            failures.append(f"HAProxy did not mark {victim} DOWN")
        if any(status != "UP" for name, status in servers.items() if name != victim):
            failures.append(f"a replica that was not killed is not UP: {servers}")

        aof = os.path.join(STACK_DIR, "redis", "appendonlydir")
        if not (os.path.isdir(aof) and any(name.endswith(".incr.aof") for name in os.listdir(aof))):
            failures.append(f"Redis wrote no append-only file under {aof}")
    finally:
        # Stop the stack as Ctrl-C would, by its PID; then every process it started must be gone.
        if stack.poll() is None:
            stop_started = time.monotonic()
            stack.send_signal(signal.SIGTERM)
            try:
                stack.wait(STOP_TIMEOUT)
                log(f"./dev stack stopped {time.monotonic() - stop_started:.1f} s after SIGTERM (exit {stack.returncode})")
            except subprocess.TimeoutExpired:
                failures.append(f"./dev stack did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM")
                stack.kill()
                stack.wait()
        survivors = {name: pid for name, pid in pids.items() if alive(pid)}
        for name, pid in survivors.items():
            os.kill(pid, signal.SIGKILL)
        if survivors:
            failures.append(f"processes outlived the stack (now SIGKILLed): {survivors}")

    if failures:
        for failure in failures:
            log(f"FAIL: {failure}")
        log(f"logs: {STACK_DIR}/ and {stack_log_path}")
        print("0 passed, 1 failed")
        return 1
    log("PASS: no acknowledged task lost, clients saw only successes or 503s, the stack stopped cleanly")
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
