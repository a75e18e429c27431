#!/usr/bin/env python3
"""The fault suite (issue 17): the whole system under faults, judged by a history checker
(Tests/Chaos/checker.py) after every scenario.

  replica-kill   SIGKILL a taskd replica behind HAProxy every 2 s (restarted a second later) while
                 tasks run; clients retry with their Idempotency-Key: 0 lost, 0 duplicated, every
                 acknowledged task terminal within 60 s of the last kill
  replica-sigterm  SIGTERM a replica every 3 s with SSE watchers and requests open: it exits within
                 10 s every time, its watchers resume on another replica and miss nothing
  worker-faults  SIGKILL the demo worker every few seconds (restarted), SIGSTOP it for 2 s between:
                 leases run out, tasks are retried, none is lost or finished twice
  script-flush   SCRIPT FLUSH every second, CLIENT KILL TYPE pubsub every 3 s: no client-visible error
  redis-crash-always / redis-crash-everysec
                 Redis SIGKILLed every 10 s and restarted from its AOF: with `always` nothing
                 acknowledged is lost; with `everysec` the no-loss rule reports what was
  soak           half the measured maximum for 5 minutes (2 in the CI tier, which leaves it out):
                 RSS and used_memory flat (±10% from minute 1), last minute's p99 ≤ 1.2× the first's
  notifications-off  keyspace notifications switched off under load (taskd may not switch them on):
                 detected and named by /health/ready, feeds fall back to polling, nothing missed
  out-of-memory  maxmemory reached under load (noeviction): 503/507 with Retry-After, never a 500,
                 accepting again within 5 s of memory freed; an eviction policy is named by /health/ready
  overload       twice the measured maximum offered for 30 s (20 in the CI tier), open loop: the excess
                 answered 503/429 with Retry-After, no other 5xx, no transport error, latency back to
                 its baseline within 30 s of the end, no acknowledged create lost
  redis-outage   Redis stopped for 5 s under load (AOF, appendfsync always): only 503s with
                 Retry-After, /health/ready 503 within 1 s, ready within 2 s of Redis returning, no
                 acknowledged write lost; a replica started while Redis is down becomes ready by itself

Usage: chaos.py --bin-dir DIR [--tier ci|full] [scenario …]
  ci   (./dev test): a few hundred tasks per scenario, about two minutes in all
  full (./dev chaos): 2,000 tasks per scenario
Exit status 0 when every scenario passed. Logs and histories: .dev/chaos/<scenario>/.
"""
import argparse
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checker import check, percentile, task_keys, written_at, FINISHED  # noqa: E402
from load import Client, History, Watcher, drive  # noqa: E402
from topology import ROOT, Topology, http_get, http_status, log, wait_until  # noqa: E402
from overload import overload  # noqa: E402

STATE = os.path.join(ROOT, ".dev", "chaos")
TIERS = {"ci": {"tasks": 300, "clients": 4, "watchers": 2, "crash_interval": 3.0, "soak_seconds": 120, "overload_seconds": 20},
         "full": {"tasks": 2000, "clients": 8, "watchers": 3, "crash_interval": 10.0, "soak_seconds": 300, "overload_seconds": 30}}


def run_load(topology, tier, faults, name, settle=60.0, load_until_faults_end=False, pause=0.02):
    """Clients create `tier['tasks']` tasks (a tenth cancelled) while `faults(done)` runs in its
    thread (`done` is set when the load ends); then every acknowledged task must end within `settle`
    s of the faults' end. `load_until_faults_end`: the clients create until `faults` returns instead."""
    history = History()
    watchers = [Watcher(f"watcher{n}", topology.url, topology.admin, topology.directory) for n in range(tier["watchers"])]
    for watcher in watchers:
        watcher.start()
    time.sleep(0.5)
    stop, created = threading.Event(), {"lock": threading.Lock(), "count": 0}
    faults_done = threading.Event()
    if load_until_faults_end:
        stop = faults_done
    clients = [threading.Thread(target=drive, args=(Client(f"client{n}", topology.url, topology.admin, history), stop, created),
                                kwargs={"limit": None if load_until_faults_end else tier["tasks"], "pause": pause}, daemon=True)
               for n in range(tier["clients"])]
    fault_errors = []

    def fault_thread():
        try:
            faults(faults_done)
        except Exception as error:  # reported as a failed scenario below
            fault_errors.append(f"{type(error).__name__}: {error}")
        finally:
            faults_done.set()

    started = time.monotonic()
    fault = threading.Thread(target=fault_thread, daemon=True)
    fault.start()
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=600)
    load_seconds = time.monotonic() - started
    faults_done.set()
    fault.join(timeout=120)
    faults_ended = time.monotonic()
    redis = topology.redis_client()

    def all_terminal():
        ids = {c["task"] for c in history.snapshot() if c["op"] == "create" and c.get("status") in (200, 202) and c.get("task")}
        statuses = task_statuses(redis, topology.prefix, ids)
        return all(s in FINISHED for s in statuses.values()) and len(statuses) == len(ids)

    terminal = wait_until(all_terminal, settle, interval=0.5)
    settled_after = time.monotonic() - faults_ended
    # The watchers' last frames: a watcher on a loaded replica may lag by seconds; wait (bounded) until
    # each has seen every acknowledged task end, so the SSE rule judges loss, not lag.
    def watchers_caught_up():
        ids = {c["task"] for c in history.snapshot() if c["op"] == "create" and c.get("status") in (200, 202) and c.get("task")}
        return all(ids <= {d.get("taskId") for _, _, d, _ in list(w.frames) if d and d.get("lifecycleStatus") in FINISHED}
                   for w in watchers)
    # A replica pushing to three watchers of every event on a starved machine (the full tier: a
    # debug build, 8 clients, two cores) runs up to ~30 s behind: give them a minute before judging.
    wait_until(watchers_caught_up, 60, interval=0.5)
    time.sleep(0.5)
    for watcher in watchers:
        watcher.stop()
    verdict = check(name, history, watchers, redis, topology.prefix)
    verdict.watchers = watchers
    lags = [received - written_at(event_id) for w in watchers for _, event_id, _, received in w.frames if event_id]
    if lags:
        verdict.figures["SSE lag (stream entry written → frame received), p50 / max"] = \
            f"{percentile(lags, 0.5) * 1000:.0f} ms / {max(lags):.1f} s"
    for error in fault_errors:
        verdict.fail("harness", f"the fault thread failed: {error}")
    verdict.figures["load"] = f"{load_seconds:.1f} s, {tier['clients']} clients"
    verdict.figures["every acknowledged task terminal"] = (f"{settled_after:.1f} s after the last fault" if terminal
                                                           else f"not within {settle:.0f} s")
    if not terminal:
        verdict.fail("no loss", f"acknowledged tasks not all terminal {settle:.0f} s after the last fault")
    history.dump(os.path.join(topology.directory, "history.jsonl"))
    for watcher in watchers:
        watcher.dump(os.path.join(topology.directory, f"{watcher.name}.jsonl"))
    return verdict, history


def task_statuses(redis, prefix, ids):
    keys = task_keys(redis, prefix)
    wanted = [i for i in ids if i in keys]
    replies = redis.pipeline([("HGET", keys[i], "status") for i in wanted]) if wanted else []
    return dict(zip(wanted, replies))


def replica_kill(topology, tier):
    kills = []

    def faults(done):
        time.sleep(1.0)
        while not done.is_set():
            index = random.randrange(len(topology.replicas))
            topology.replicas[index].kill()
            kills.append(time.monotonic())
            time.sleep(1.0)
            topology.start_replica(index)
            done.wait(max(0.0, 2.0 - (time.monotonic() - kills[-1])))

    verdict, _ = run_load(topology, tier, faults, "replica-kill")
    verdict.figures["replicas killed (SIGKILL, every 2 s)"] = len(kills)
    if len(kills) < 2:
        verdict.fail("scenario", f"only {len(kills)} kills happened; the load ended too soon to judge")
    return verdict


def replica_sigterm(topology, tier):
    """SIGTERM a replica every 3 s while its SSE watchers, long-polls and requests are open; it
    must exit within 10 s each time, and its watchers resume elsewhere with no missed event."""
    exits = []

    def faults(done):
        time.sleep(1.0)
        while not done.is_set():
            index = random.randrange(len(topology.replicas))
            exits.append((topology.replicas[index].name, topology.replicas[index].stop(timeout=20)))
            topology.start_replica(index)
            done.wait(3.0)

    verdict, _ = run_load(topology, tier, faults, "replica-sigterm")
    slowest = max((took for _, took in exits), default=None)
    verdict.figures["replicas stopped with SIGTERM"] = len(exits)
    verdict.figures["exits after SIGTERM"] = ", ".join(f"{name} {took:.2f} s" for name, took in exits) or "none"
    for name, took in exits:
        if took > 10.0:
            verdict.fail("graceful shutdown", f"{name} took {took:.1f} s to exit after SIGTERM (limit 10 s)")
    if len(exits) < 2:
        verdict.fail("scenario", f"only {len(exits)} SIGTERMs happened; the load ended too soon to judge")
    return verdict


def worker_faults(topology, tier):
    kills, freezes = [], []

    def faults(done):
        time.sleep(1.0)
        while not done.is_set():
            topology.worker.kill()
            kills.append(time.monotonic())
            time.sleep(0.5)
            topology.worker.start()
            if done.wait(1.5):
                break
            # Frozen past its 2 s lease: the reaper makes its tasks impacted, then re-queues them;
            # thawed, the worker's late calls must be fenced.
            topology.worker.signal(signal.SIGSTOP)
            freezes.append(time.monotonic())
            time.sleep(3.0)
            topology.worker.signal(signal.SIGCONT)
            done.wait(1.5)

    verdict, _ = run_load(topology, tier, faults, "worker-faults", settle=90.0)
    verdict.figures["worker SIGKILLs / SIGSTOPs (3 s each)"] = f"{len(kills)} / {len(freezes)}"
    if not kills or not freezes:
        verdict.fail("scenario", "the load ended before the worker was both killed and frozen")
    return verdict


def redis_outage(topology, tier):
    readiness = []   # (time, replica index, status or None)
    outage = {}
    probing = threading.Event()

    def probe():
        while not probing.is_set():
            for index, port in enumerate(topology.replica_ports):
                try:
                    status = http_status(port, "/health/ready")
                except OSError:
                    status = None
                readiness.append((time.monotonic(), index, status))
            time.sleep(0.05)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()

    def faults(done):
        done.wait(2.0)
        outage["down"] = time.monotonic()
        topology.redis.kill()
        time.sleep(5.0)
        # A replica started while Redis is down serves 503 and becomes ready by itself.
        late = topology.replicas[2]
        late.kill()
        late.start()
        outage["late_started"] = time.monotonic()
        topology.start_redis()
        outage["up"] = time.monotonic()

    verdict, history = run_load(topology, tier, faults, "redis-outage")
    probing.set()
    prober.join(timeout=5)
    down, up = outage.get("down"), outage.get("up")
    if down is None or up is None:
        verdict.fail("scenario", "the outage did not happen")
        return verdict
    for index in range(len(topology.replicas)):
        samples = [(t, s) for t, i, s in readiness if i == index]
        if index != 2:
            first_503 = next((t for t, s in samples if down <= t and s == 503), None)
            if first_503 is None or first_503 - down > 1.0:
                verdict.fail("readiness", f"taskd{index + 1}: /health/ready not 503 within 1 s of Redis going "
                                          f"({'never' if first_503 is None else f'{first_503 - down:.2f} s'})")
        ready_again = next((t for t, s in samples if t >= up and s == 200), None)
        took = None if ready_again is None else ready_again - up
        verdict.figures[f"taskd{index + 1} ready after Redis returned"] = "never" if took is None else f"{took:.2f} s"
        if took is None or took > 2.0:
            verdict.fail("readiness", f"taskd{index + 1}: not ready within 2 s of Redis returning")
    late_samples = [(t, s) for t, i, s in readiness if i == 2 and outage["late_started"] <= t < up]
    if any(s not in (503, None) for _, s in late_samples):
        verdict.fail("readiness", "the replica started during the outage answered /health/ready with something other than 503")
    during = [c for c in history.snapshot() if c.get("status") is not None and down <= c["mono"] <= up]
    bad = [c for c in during if c["status"] >= 500 and (c["status"] != 503 or not c.get("retry_after"))]
    for call in bad[:10]:
        verdict.fail("outage answers", f"{call['op']} answered {call['status']} (Retry-After {call.get('retry_after')!r}) during the outage")
    verdict.figures["answers during the outage"] = f"{len(during)} ({sum(1 for c in during if c['status'] == 503)} were 503 with Retry-After)"
    return verdict


def script_flush(topology, tier):
    """SCRIPT FLUSH every second and CLIENT KILL TYPE pubsub every 3 s: taskd reloads its scripts
    (a NOSCRIPT call is sent again as EVAL) and resubscribes; no client sees an error, no watcher
    misses an event. Admission control's `overloaded` (503 with Retry-After, retried by the client)
    is the load's, not the fault's: counted apart, not an error here (the overload scenario judges it)."""
    counts = {"flush": 0, "pubsub kills": 0}

    def faults(done):
        admin = topology.redis_client()
        tick = 0
        while not done.wait(1.0):
            admin.call("SCRIPT", "FLUSH")
            counts["flush"] += 1
            tick += 1
            if tick % 3 == 0:
                admin.call("CLIENT", "KILL", "TYPE", "pubsub")
                counts["pubsub kills"] += 1

    verdict, history = run_load(topology, tier, faults, "script-flush")
    verdict.figures["SCRIPT FLUSH / CLIENT KILL TYPE pubsub"] = f"{counts['flush']} / {counts['pubsub kills']}"
    def shed_by_admission(call):
        return call.get("status") == 503 and call.get("retry_after") and '"overloaded"' in (call.get("body") or "")

    answers = history.snapshot()
    shed = [c for c in answers if shed_by_admission(c)]
    errors = [c for c in answers if (c.get("status") is None or c["status"] >= 500) and not shed_by_admission(c)]
    verdict.figures["refused as overloaded (load shedding, Retry-After, retried)"] = len(shed)
    for call in errors[:10]:
        verdict.fail("no client-visible error", f"{call['op']} answered {call.get('status') or call.get('error')}")
    if counts["flush"] < 2:
        verdict.fail("scenario", "the load ended before two flushes")
    return verdict


def redis_crashes(topology, tier, appendfsync):
    """Redis SIGKILLed every 10 s under load and restarted from its AOF: with appendfsync always no
    acknowledged write is lost; with everysec, the checker's no-loss rule reports what was."""
    crashes = []

    def faults(done):
        while not done.wait(tier["crash_interval"] if crashes else 3.0):
            topology.redis.kill()
            crashes.append(time.monotonic())
            topology.start_redis()

    verdict, history = run_load(topology, tier, faults, f"redis-crash-{appendfsync}")
    verdict.figures[f"Redis SIGKILLs every {tier['crash_interval']:.0f} s (restarted from the AOF)"] = len(crashes)
    if not crashes:
        verdict.fail("scenario", "the load ended before Redis was killed")
    if appendfsync == "everysec":
        # Losing up to a second of writes is what everysec trades for speed: report it, with how long
        # before its crash each lost write was acknowledged.
        lost = [f for f in verdict.failures if f.startswith("no loss")]
        verdict.failures = [f for f in verdict.failures if not f.startswith("no loss")]
        acknowledged = {c["task"]: c for c in history.snapshot() if c["op"] == "create" and c.get("status") in (200, 202)}
        before = []
        for task in verdict.lost:
            crash = next((c for c in crashes if c >= acknowledged[task]["mono"]), None)
            if crash is not None:
                before.append(crash - acknowledged[task]["mono"])
        verdict.figures["acknowledged writes lost (everysec)"] = (
            f"{len(lost)}" + (f", acknowledged {min(before) * 1000:.0f}–{max(before) * 1000:.0f} ms before their crash" if before else ""))
    return verdict


def out_of_memory(topology, tier):
    """maxmemory reached under load (noeviction): writes answered 503/507 with Retry-After, never
    a 500, no half-written task; accepting again within 5 s of memory freed. Then an eviction
    policy: /health/ready must say so."""
    marks = {}

    def faults(done):
        admin = topology.redis_client()
        done.wait(2.0)
        info = admin.call("INFO", "memory")
        used = int(next(line.split(":")[1] for line in info.splitlines() if line.startswith("used_memory:")))
        admin.call("CONFIG", "SET", "maxmemory", str(used + 256 * 1024))
        marks["full"] = time.monotonic()
        time.sleep(4.0)
        admin.call("CONFIG", "SET", "maxmemory", "0")
        marks["freed"] = time.monotonic()

    verdict, history = run_load(topology, tier, faults, "out-of-memory")
    calls = history.snapshot()
    full, freed = marks.get("full"), marks.get("freed")
    if full is None or freed is None:
        verdict.fail("scenario", "memory was never filled")
        return verdict
    refused = [c for c in calls if full <= c["mono"] <= freed and c.get("status") in (503, 507)]
    bad = [c for c in calls if c.get("status") is not None and c["status"] >= 500
           and (c["status"] not in (503, 507) or not c.get("retry_after"))]
    for call in bad[:10]:
        verdict.fail("out of memory", f"{call['op']} answered {call['status']} (Retry-After {call.get('retry_after')!r}): {call.get('body', '')[:120]}")
    if not refused:
        verdict.fail("scenario", "no write was refused while Redis was full")
    accepted = next((c for c in calls if c["op"] == "create" and c["mono"] >= freed and c.get("status") == 202), None)
    took = None if accepted is None else accepted["mono"] - freed
    verdict.figures["writes refused while full (503/507 with Retry-After)"] = len(refused)
    verdict.figures["first create accepted after memory was freed"] = "never" if took is None else f"{took:.2f} s"
    if took is None or took > 5.0:
        verdict.fail("out of memory", "creates not accepted again within 5 s of memory freed")

    admin = topology.redis_client()
    admin.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    try:
        said = ""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "evict" not in said.lower():
            said = http_get(topology.replica_ports[0], "/health/ready", timeout=5)[1]
            time.sleep(0.5)
        verdict.figures["/health/ready with maxmemory-policy allkeys-lru"] = said.strip()[:200]
        if "evict" not in said.lower():
            verdict.fail("eviction policy", f"/health/ready does not mention the eviction policy: {said[:200]}")
    finally:
        admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
    return verdict


def soak(topology, tier):
    """Half the measured maximum for `soak_seconds`: taskd's RSS and Redis's used_memory flat (±10%
    from minute 1 to the end), the last minute's p99 ≤ 1.2× the first's, the bounded-state rules
    clean. Finished tasks keep 30 s (TASKD_RESULT_TTL), so the keyspace reaches a steady size."""
    redis = topology.redis_client()
    history = History()

    def finished_count():
        statuses = task_statuses(redis, topology.prefix, {c["task"] for c in history.snapshot() if c.get("task")})
        return sum(1 for s in statuses.values() if s in FINISHED)

    # 1. The maximum: closed-loop clients for 15 s, counted by tasks finished (the worker is part of it).
    stop, created = threading.Event(), {"lock": threading.Lock(), "count": 0}
    clients = [threading.Thread(target=drive, args=(Client(f"max{n}", topology.url, topology.admin, history), stop, created),
                                kwargs={"cancel_share": 0.0, "pause": 0.0}, daemon=True) for n in range(tier["clients"])]
    before = finished_count()
    started = time.monotonic()
    for client in clients:
        client.start()
    time.sleep(15)
    stop.set()
    for client in clients:
        client.join(timeout=60)
    maximum = (finished_count() - before) / (time.monotonic() - started)
    rate = maximum / 2
    wait_until(lambda: finished_count() == len({c["task"] for c in history.snapshot() if c.get("task")}), 60, interval=0.5)

    # 2. The soak, open loop at half the maximum, sampled every 10 s.
    duration = tier["soak_seconds"]
    samples = []   # (seconds since start, {name: rss}, used_memory)
    latencies = []  # (seconds since start, seconds taken)
    soak_history = History()
    client = Client("soak", topology.url, topology.admin, soak_history)
    lock = threading.Lock()
    soak_started = time.monotonic()
    stop = threading.Event()

    def one():
        begun = time.monotonic()
        body = {"commandType": random.choice(["backup", "reshard", "create_db", "delete_db"]), "objectName": "soak", "ops": ["1"]}
        status, _, _ = client.call("create", "POST", "/v1/tasks", body, key=str(random.getrandbits(64)))
        with lock:
            latencies.append((begun - soak_started, time.monotonic() - begun, status))

    def sampler():
        while not stop.wait(10.0):
            info = redis.call("INFO", "memory")
            used = int(next(line.split(":")[1] for line in info.splitlines() if line.startswith("used_memory:")))
            samples.append((time.monotonic() - soak_started, {r.name: topology.rss_bytes(r) for r in topology.replicas}, used))

    sampling = threading.Thread(target=sampler, daemon=True)
    sampling.start()
    sent = 0
    workers = []
    while time.monotonic() - soak_started < duration:
        due = soak_started + sent / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=one, daemon=True)
        thread.start()
        workers.append(thread)
        sent += 1
        workers = [w for w in workers if w.is_alive()]
        if len(workers) > 200:  # bounded: a stuck service must not make the harness grow without end
            time.sleep(0.1)
    stop.set()
    for thread in workers:
        thread.join(timeout=60)
    sampling.join(timeout=15)

    settled = wait_until(lambda: all(s in FINISHED for s in task_statuses(
        redis, topology.prefix, {c["task"] for c in soak_history.snapshot() if c.get("task")}).values()), 60, interval=0.5)
    # Finished tasks expire after 30 s here: judge the creates of the last 25 s, whose tasks cannot
    # have expired yet, for loss (the bounded-state and path rules cover everything still there).
    recent = History()
    cutoff = time.monotonic() - 25
    for call in soak_history.snapshot():
        if call["mono"] >= cutoff:
            recent.add(call)
    verdict = check("soak", recent, [], redis, topology.prefix, expect_terminal=settled)
    verdict.figures["maximum (tasks finished per second, closed loop, 15 s)"] = f"{maximum:.0f}"
    verdict.figures["soak"] = f"{duration} s at {rate:.0f} creates/s ({sent} sent)"
    errors = sum(1 for _, _, status in latencies if status not in (200, 202))
    verdict.figures["creates not answered 2xx"] = errors
    if errors:
        verdict.fail("soak", f"{errors} creates were not answered 2xx at half the maximum")
    first = [taken for at, taken, _ in latencies if at < 60]
    last = [taken for at, taken, _ in latencies if at >= duration - 60]
    p99_first, p99_last = percentile(first, 0.99), percentile(last, 0.99)
    if p99_first and p99_last:
        verdict.figures["create p99, first / last minute"] = f"{p99_first * 1000:.1f} / {p99_last * 1000:.1f} ms"
        if p99_last > 1.2 * p99_first:
            verdict.fail("soak", f"p99 grew from {p99_first * 1000:.1f} to {p99_last * 1000:.1f} ms (limit 1.2×)")
    minute = [s for s in samples if s[0] >= 60]
    if len(minute) >= 2:
        start, end = minute[0], minute[-1]
        for name in start[1]:
            change = end[1][name] / start[1][name] - 1
            verdict.figures[f"{name} RSS, minute 1 → end"] = f"{start[1][name] / 2**20:.1f} → {end[1][name] / 2**20:.1f} MiB ({change:+.0%})"
            if abs(change) > 0.10:
                verdict.fail("soak", f"{name} RSS changed {change:+.0%} from minute 1 to the end (limit ±10%)")
        change = end[2] / start[2] - 1
        verdict.figures["Redis used_memory, minute 1 → end"] = f"{start[2] / 2**20:.1f} → {end[2] / 2**20:.1f} MiB ({change:+.0%})"
        if abs(change) > 0.10:
            verdict.fail("soak", f"Redis used_memory changed {change:+.0%} from minute 1 to the end (limit ±10%)")
    else:
        verdict.fail("soak", "the soak was too short to compare minute 1 with the end (at least 2 minutes)")
    return verdict


def notifications_off(topology, tier):
    """Keyspace notifications switched off under load, with taskd unable to switch them on (no
    CONFIG): detected and named by /health/ready, live push falls back to reading the streams
    (event to watcher p99 ≤ 1.5 s meanwhile), nothing missed; switched on again, the note goes."""
    marks, readiness = {}, {}

    def ready_problems(port):
        return http_get(port, "/health/ready", timeout=5)[1]

    def faults(done):
        admin = topology.redis_client()
        time.sleep(2.0)
        admin.call("CONFIG", "SET", "notify-keyspace-events", "")
        marks["off"] = time.time()
        deadline = time.monotonic() + 20
        pending = set(range(len(topology.replicas)))
        while pending and time.monotonic() < deadline:
            for index in list(pending):
                if "notify-keyspace-events" in ready_problems(topology.replica_ports[index]):
                    readiness[index] = time.time() - marks["off"]
                    pending.discard(index)
            time.sleep(0.2)
        time.sleep(4.0)
        admin.call("CONFIG", "SET", "notify-keyspace-events", "Kt")
        marks["on"] = time.time()
        time.sleep(3.0)  # load goes on: notifications arriving again must clear the note
        marks["after"] = [ready_problems(port) for port in topology.replica_ports]

    # Paced (each client a create every 0.25 s): latency is the point here, so the load stays well
    # below what the watchers can take.
    verdict, _ = run_load(topology, tier, faults, "notifications-off", load_until_faults_end=True, pause=0.25)
    if "off" not in marks or "on" not in marks:
        verdict.fail("scenario", "notifications were never switched off and on")
        return verdict
    for index in range(len(topology.replicas)):
        took = readiness.get(index)
        verdict.figures[f"taskd{index + 1} /health/ready named it after"] = "never" if took is None else f"{took:.1f} s"
        if took is None:
            verdict.fail("detection", f"taskd{index + 1}: /health/ready never said notifications are off")
    # Event to watcher, for events written while notifications were off.
    def lags(start, end):
        return [received - written_at(event_id) for watcher in verdict.watchers for _, event_id, _, received in watcher.frames
                if event_id and start <= written_at(event_id) <= end]
    # The polling fallback may add at most 1.5 s to what the same watchers see with notifications on
    # (measured in the same run: on a loaded machine or a debug build the baseline is far from 0).
    # The fallback is judged once every replica has noticed (until then feeds look every 2 s); the
    # whole off window is reported too.
    # (plus a second for the backlog of the 2 s passes before that to drain)
    noticed = marks["off"] + max(readiness.values(), default=0.0) + 1.0
    baseline, off, fallback = lags(0, marks["off"]), lags(marks["off"], marks["on"]), lags(noticed, marks["on"])
    p99_on, p99_off, p99_fallback = (percentile(x, 0.99) for x in (baseline, off, fallback))

    def ms(value):
        return "no events" if value is None else f"{value * 1000:.0f} ms"
    verdict.figures["event to watcher p99: notifications on / off, before noticed / off, after"] = (
        f"{ms(p99_on)} / {ms(p99_off)} / {ms(p99_fallback)} ({len(fallback)} frames)")
    if p99_on is None or p99_fallback is None or p99_fallback > p99_on + 1.5:
        verdict.fail("fallback", f"event-to-watcher p99 {ms(p99_fallback)} in the polling fallback against {ms(p99_on)} with "
                                 f"notifications on (limit: 1.5 s more)")
    if any("notify-keyspace-events" in text for text in marks["after"]):
        verdict.fail("recovery", "/health/ready still names notify-keyspace-events after they were switched on again")
    return verdict


SCENARIOS = {"replica-kill": (replica_kill, "everysec"), "replica-sigterm": (replica_sigterm, "everysec"),
             "worker-faults": (worker_faults, "everysec"),
             "redis-outage": (redis_outage, "always"), "script-flush": (script_flush, "everysec"),
             "redis-crash-always": (lambda t, tier: redis_crashes(t, tier, "always"), "always"),
             "redis-crash-everysec": (lambda t, tier: redis_crashes(t, tier, "everysec"), "everysec"),
             "out-of-memory": (out_of_memory, "everysec"), "notifications-off": (notifications_off, "everysec"),
             "soak": (soak, "everysec"), "overload": (overload, "everysec")}
# The CI tier leaves out what only says something at full size or costs the most.
CI_SCENARIOS = ["replica-kill", "replica-sigterm", "worker-faults", "redis-outage", "script-flush", "redis-crash-always",
                "out-of-memory", "notifications-off", "overload"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", required=True, help="where taskd and taskd-demo-worker are")
    parser.add_argument("--tier", choices=sorted(TIERS), default="ci")
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    arguments = parser.parse_args()
    names = arguments.scenarios or (CI_SCENARIOS if arguments.tier == "ci" else list(SCENARIOS))
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; known: {', '.join(SCENARIOS)}")
    tier = TIERS[arguments.tier]
    verdicts = []
    for name in names:
        scenario, appendfsync = SCENARIOS[name]
        # Short leases so a dead or frozen worker's tasks come back within the scenario.
        topology = Topology(os.path.join(STATE, name), arguments.bin_dir, appendfsync=appendfsync,
                            without_config=name == "notifications-off",
                            demo_settings={"TASKD_LEASE_SECONDS": "2", "TASKD_WORKER_GRACE_SECONDS": "2"},
                            taskd_settings={"TASKD_RESULT_TTL": "30"} if name == "soak" else None)
        started = time.monotonic()
        try:
            log(f"{name}: starting Redis, 3 taskd replicas, HAProxy and the demo worker")
            topology.start()
            verdict = scenario(topology, tier)
        except Exception as error:  # a harness failure is a failed scenario, with the reason shown
            from checker import Verdict
            verdict = Verdict(name)
            verdict.fail("harness", f"{type(error).__name__}: {error}")
        finally:
            topology.stop()
        verdict.figures["took"] = f"{time.monotonic() - started:.1f} s"
        print(verdict.report(), flush=True)
        verdicts.append(verdict)
    failed = [v.name for v in verdicts if not v.passed]
    log(f"{len(verdicts) - len(failed)} of {len(verdicts)} scenarios passed" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
