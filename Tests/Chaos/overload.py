"""Scenario 9 of the fault suite: twice the measured maximum, offered open loop (see openloop.py).

1. Baseline: a probe (one GET /v1/tasks/{id} every 50 ms on a thread of its own) for 5 s.
2. The maximum: 48 closed-loop connections for 10 s, half creates and half reads of tasks just
   created, through HAProxy; counted as 2xx answers a second.
3. The overload: twice that, open loop, for `overload_seconds`, on up to 1,024 connections (three
   replicas hold up to 3 × 256 requests in flight before they shed).
4. After: the probe for 30 s from the end of the overload: when the generator sent its last request,
   that is when it got a connection and wrote it (on two busy cores, with every connection waiting
   for its answer, that is seconds to tens of seconds after its schedule, and the overload lasts
   that much longer). The checker runs after that, when every request was answered.

Pass: every answer during the overload is 2xx/4xx, or 503/429 with Retry-After (taskd's
`overloaded`, or HAProxy's own); no other 5xx and no transport error or timeout; some requests were
in fact shed (else it was no overload); the probe is back to its baseline (2-s windows: median ≤
1.5× the baseline's + 2 ms, p90 ≤ 2× + 5 ms, and every later window too) within 30 s of the end;
the checker finds every acknowledged create in Redis, one task per Idempotency-Key."""
import asyncio
import collections
import random
import threading
import time
import uuid

from checker import check, percentile
from load import Client, History
from openloop import DRAIN_LIMIT, Target, closed_loop, open_loop
from topology import log


class Probe(threading.Thread):
    """One read every 50 ms, on its own connection each (Connection: close), latencies kept."""

    def __init__(self, topology, task_id):
        super().__init__(daemon=True)
        self.client = Client("probe", topology.url, topology.admin, History())
        self.path = f"/v1/tasks/{task_id}"
        self.samples = []  # (monotonic time sent, seconds taken or None on failure)
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(0.05):
            begun = time.monotonic()
            status, _, _ = self.client.call("read", "GET", self.path)
            self.samples.append((begun, time.monotonic() - begun if status == 200 else None))

    def between(self, start, end):
        return [taken for at, taken in self.samples if start <= at < end and taken is not None]


class Mix:
    """Half creates (each with an Idempotency-Key), half reads of a task created a moment ago. The
    tasks are of a commandType no worker serves: the scenario judges the HTTP front door, and a
    backlog of thousands draining through the demo worker afterwards would load the machine the
    probe measures "back to baseline" on."""

    def __init__(self):
        self.recent = collections.deque(maxlen=1000)

    def next(self):
        if self.recent and random.random() < 0.5:
            return ("read", "GET", f"/v1/tasks/{random.choice(self.recent)}", None, None)
        body = {"commandType": "overload", "objectName": "overload", "ops": ["1"]}
        return ("create", "POST", "/v1/tasks", body, str(uuid.uuid4()))

    def answered(self, request, answer, entry):
        if request[0] == "create" and entry.get("task"):
            self.recent.append(entry["task"])


def overload(topology, tier):
    seconds = tier["overload_seconds"]
    redis = topology.redis_client()
    host, _, port = topology.url.removeprefix("http://").partition(":")
    target = Target(host, int(port), topology.admin)
    history, mix = History(), Mix()
    Client("setup", topology.url, topology.admin, history).call(
        "create", "POST", "/v1/tasks", {"commandType": "overload-probe", "objectName": "probe"}, key=str(uuid.uuid4()))
    probe_task = next(c["task"] for c in history.snapshot() if c.get("task"))
    probe = Probe(topology, probe_task)
    probe.start()
    time.sleep(5)
    baseline = probe.between(0, time.monotonic())

    maximum = asyncio.run(closed_loop(target, 48, 10, mix.next, history, "max", on_answer=mix.answered))
    rate = 2 * maximum
    log(f"overload: maximum {maximum:.0f} answers/s (48 connections, closed loop); offering {rate:.0f}/s for {seconds} s")
    overload_history = History()
    begun = time.monotonic()
    due, late, last_sent, abandoned = asyncio.run(open_loop(target, rate, seconds, mix.next, overload_history, "overload",
                                                             on_answer=mix.answered))
    ended = max(begun + seconds, last_sent)
    observe = 30.0
    remaining = ended + observe - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    probe.stopping.set()
    probe.join(timeout=10)

    calls = overload_history.snapshot()
    for call in calls:
        history.add(call)
    verdict = check("overload", history, [], redis, topology.prefix, expect_terminal=False)
    statuses = collections.Counter()
    for call in calls:
        status = call.get("status")
        if status is None:
            statuses["transport error or timeout"] += 1
            continue
        shed = status in (429, 503)
        kind = "overloaded" if '"overloaded"' in (call.get("body") or "") else "other"
        statuses[f"{status} {kind}" if shed else f"{status // 100}xx"] += 1
        if shed and not call.get("retry_after"):
            verdict.fail("overload", f"{status} without Retry-After: {call.get('body', '')[:120]}")
        elif status >= 500 and not shed:
            verdict.fail("overload", f"{status} during the overload: {call.get('body', '')[:120]}")
    if abandoned:
        verdict.fail("overload", f"{abandoned} requests had no answer {DRAIN_LIMIT:.0f} s after the last was due (cancelled)")
    for call in [c for c in calls if c.get("status") is None][:5]:
        verdict.fail("overload", f"{call['op']} {call['path']}: {call.get('error')}")
    shed = sum(n for name, n in statuses.items() if name.startswith(("503", "429")))
    if not shed:
        verdict.fail("overload", f"nothing was shed at {rate:.0f} requests/s: no overload reached")
    answered = [c for c in calls if c.get("status") is not None and 200 <= c["status"] < 300]
    admitted = [c["latency"] for c in answered]
    with open(topology.haproxy.log_path) as f:
        down = sum(1 for line in f if line.startswith("[WARNING]") and " is DOWN" in line)
    # Not a failure by itself (HAProxy retries elsewhere, and its own 503s carry Retry-After), but a
    # replica whose health check timed out under load is worth seeing.
    verdict.figures["replicas taken out by HAProxy's health check"] = down
    verdict.figures["maximum (2xx answers/s, 48 connections, closed loop, 10 s)"] = f"{maximum:.0f}"
    verdict.figures["offered"] = (f"{rate:.0f}/s for {seconds} s ({due} requests, {late} sent > 100 ms late: the generator "
                                  f"behind or every connection busy; the last sent {ended - begun - seconds:.1f} s after its time)")
    verdict.figures["answers during the overload"] = dict(sorted(statuses.items()))
    verdict.figures["2xx a second during the overload"] = f"{len(answered) / seconds:.0f}"
    if admitted:
        verdict.figures["2xx latency during the overload, p50 / p99"] = \
            f"{percentile(admitted, 0.5) * 1000:.0f} / {percentile(admitted, 0.99) * 1000:.0f} ms"

    # Back to baseline: the first 2-s window after the end from which every window is within bounds.
    base_median, base_p90 = percentile(baseline, 0.5), percentile(baseline, 0.9)
    verdict.figures["probe baseline, p50 / p90"] = f"{base_median * 1000:.1f} / {base_p90 * 1000:.1f} ms ({len(baseline)} reads)"
    median_bound, p90_bound = 1.5 * base_median + 0.002, 2 * base_p90 + 0.005
    windows = []
    start = ended
    while start + 2 <= ended + observe:
        window = probe.between(start, start + 2)
        windows.append((start - ended, bool(window) and percentile(window, 0.5) <= median_bound and percentile(window, 0.9) <= p90_bound,
                        window))
        start += 0.5
    recovered = None
    for index, (offset, good, _) in enumerate(windows):
        if all(ok for _, ok, _ in windows[index:]):
            recovered = offset
            break
    during = probe.between(begun, ended)
    if during:
        verdict.figures["probe during the overload, p50 / p90"] = \
            f"{percentile(during, 0.5) * 1000:.1f} / {percentile(during, 0.9) * 1000:.1f} ms"
    if recovered is None:
        last = windows[-1][2] if windows else []
        verdict.fail("overload", f"the probe was not back to its baseline within {observe:.0f} s of the end "
                                 f"(last window p50 {percentile(last, 0.5) * 1000 if last else float('nan'):.1f} ms)")
        verdict.figures["probe back to baseline"] = f"not within {observe:.0f} s"
    else:
        verdict.figures["probe back to baseline"] = f"{recovered:.1f} s after the end (observed {observe:.0f} s)"
    return verdict
