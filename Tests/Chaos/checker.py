"""The verdict on a scenario, from the client history, the SSE frames and Redis read over the
checker's own connection (never through taskd):

  no loss        every acknowledged create exists; every acknowledged cancel is in the task's history
  legal paths    each task's status sequence is a path of DESIGN.md §2; terminal states absorb;
                 version rises by exactly one per event, from 1 at create
  fencing        at most one finishing event per task (so at most one accepted completion per attempt)
  idempotency    one task per Idempotency-Key, whichever replica answered
  SSE            every watcher saw every acknowledged task's terminal event, ids rising, unless it was
                 told of a gap (a `trimmed` or `snapshot` frame)
  bounded state  every finished task's keys have a TTL; no index, lease or queue entry without its
                 task; every stream within its MAXLEN + 10%
"""
import collections

FINISHED = {"completed", "failed", "cancelled", "dismissed"}
LEASED = {"starting", "running", "impacted", "cancelling"}
# status → the statuses one event may move it to (DESIGN.md §2, Lua/README.md).
LEGAL = {
    "queued": {"starting", "cancelled"},
    "starting": {"running", "impacted", "cancelling", "cancelled", "completed", "failed", "queued"},
    "running": {"impacted", "cancelling", "cancelled", "completed", "failed", "queued"},
    "impacted": {"running", "cancelling", "cancelled", "completed", "failed", "queued"},
    "cancelling": {"cancelled", "completed", "failed"},
    "failed": {"dismissed"},
    "completed": set(), "cancelled": set(), "dismissed": set(),
}
TASK_STREAM_MAXLEN, SHARD_STREAM_MAXLEN = 1000, 10000
RETENTION_GRACE_MS = 15000  # three passes of the retention janitor


def stream_fields(entry):
    _, values = entry
    return dict(zip(values[0::2], values[1::2]))


def stream_key(event_id):
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


class Verdict:
    def __init__(self, name):
        self.name = name
        self.failures = []
        self.figures = collections.OrderedDict()
        self.lost = []  # acknowledged creates not in Redis

    def fail(self, rule, message):
        self.failures.append(f"{rule}: {message}")

    @property
    def passed(self):
        return not self.failures

    def report(self):
        lines = [f"{self.name}: {'PASS' if self.passed else 'FAIL'}"]
        lines += [f"  {name}: {value}" for name, value in self.figures.items()]
        shown = self.failures[:15]
        lines += [f"  ✘ {failure}" for failure in shown]
        if len(self.failures) > len(shown):
            lines.append(f"  … and {len(self.failures) - len(shown)} more failures")
        return "\n".join(lines)


def task_keys(redis, prefix):
    """Every task hash of the prefix: id → key."""
    return {key.rsplit(":", 1)[1]: key for key in redis.scan(f"{prefix}:{{*}}:task:*") if not key.endswith(":events")}


def read_state(redis, prefix):
    """Every task of the prefix: id → (hash fields, events [(id, fields)], pttl of hash, pttl of stream)."""
    tasks = task_keys(redis, prefix)
    state = {}
    ids = list(tasks)
    for start in range(0, len(ids), 200):
        batch = ids[start:start + 200]
        commands = []
        for task_id in batch:
            key = tasks[task_id]
            commands += [("HGETALL", key), ("XRANGE", key + ":events", "-", "+"), ("PTTL", key), ("PTTL", key + ":events")]
        replies = redis.pipeline(commands)
        for n, task_id in enumerate(batch):
            flat, events, ttl, stream_ttl = replies[4 * n:4 * n + 4]
            # Expired between the SCAN and this read (the soak keeps finished tasks 30 s): gone, not broken.
            if not flat or (not events and 0 <= ttl < 2000):
                continue
            state[task_id] = (dict(zip(flat[0::2], flat[1::2])), [(e[0], stream_fields(e)) for e in events], ttl, stream_ttl)
    return state


def shard_prefixes(redis, prefix):
    prefixes = set()
    for key in redis.scan(f"{prefix}:{{*}}:*"):
        close = key.index("}:")
        prefixes.add(key[:close + 2])
    return prefixes


def check(name, history, watchers, redis, prefix, expect_terminal=True):
    verdict = Verdict(name)
    calls = history.snapshot()
    state = read_state(redis, prefix)

    # Idempotency and no loss of creates.
    by_key = collections.defaultdict(set)
    acknowledged = {}
    for call in calls:
        if call["op"] == "create" and call.get("status") in (200, 202) and call.get("task"):
            by_key[call["key"]].add(call["task"])
            acknowledged[call["task"]] = call
    for key, ids in by_key.items():
        if len(ids) > 1:
            verdict.fail("idempotency", f"Idempotency-Key {key} answered with {len(ids)} tasks: {sorted(ids)}")
    stored_by_key = collections.defaultdict(list)
    for task_id, (fields, _, _, _) in state.items():
        if fields.get("idempotencyKey"):
            stored_by_key[fields["idempotencyKey"]].append(task_id)
    for key, ids in stored_by_key.items():
        if len(ids) > 1:
            verdict.fail("idempotency", f"Idempotency-Key {key} has {len(ids)} tasks in Redis: {sorted(ids)}")
    lost = [t for t in acknowledged if t not in state]
    verdict.lost = lost
    for task_id in lost[:20]:
        verdict.fail("no loss", f"acknowledged create of {task_id} (at {acknowledged[task_id]['start']:.3f}) is not in Redis")
    attempted_keys = {c["key"] for c in calls if c["op"] == "create"}
    unanswered = [k for k in attempted_keys if k not in by_key]

    # Paths, versions, fencing, terminal.
    terminal_counts = collections.Counter()
    not_terminal = []
    for task_id, (fields, events, ttl, stream_ttl) in state.items():
        if not events:
            verdict.fail("legal paths", f"{task_id} has no events")
            continue
        first = events[0][1]
        trimmed = len(events) >= TASK_STREAM_MAXLEN
        if not trimmed and (first.get("kind") != "created" or first.get("version") != "1" or first.get("status") != "queued"):
            verdict.fail("legal paths", f"{task_id} starts with {first}")
        previous_status, previous_version, finishes = None, None, 0
        for event_id, event in events:
            status, version = event.get("status"), int(event.get("version", "0"))
            if previous_version is not None and version != previous_version + 1:
                verdict.fail("legal paths", f"{task_id}: version {previous_version} → {version} at {event_id}")
            if previous_status is not None and status != previous_status and status not in LEGAL.get(previous_status, set()):
                verdict.fail("legal paths", f"{task_id}: {previous_status} → {status} at {event_id}")
            if previous_status in FINISHED and status == previous_status and event.get("kind") != "deleted":
                verdict.fail("legal paths", f"{task_id}: an event after terminal {previous_status} at {event_id}")
            if status in FINISHED - {"dismissed"} and status != previous_status:
                finishes += 1
            previous_status, previous_version = status, version
        if finishes > 1:
            verdict.fail("fencing", f"{task_id} finished {finishes} times")
        if previous_status != fields.get("status"):
            verdict.fail("legal paths", f"{task_id}: hash says {fields.get('status')}, its last event {previous_status}")
        if fields.get("version") != str(previous_version):
            verdict.fail("legal paths", f"{task_id}: hash version {fields.get('version')}, last event {previous_version}")
        final = fields.get("status")
        terminal_counts[final] += 1
        if final in FINISHED:
            if ttl is None or ttl < 0 or stream_ttl is None or stream_ttl < 0:
                verdict.fail("bounded state", f"finished {task_id} without a TTL (hash {ttl}, stream {stream_ttl})")
        elif task_id in acknowledged:
            not_terminal.append(task_id)
        if len(events) > TASK_STREAM_MAXLEN * 1.1:
            verdict.fail("bounded state", f"{task_id}: {len(events)} events, past MAXLEN {TASK_STREAM_MAXLEN} + 10%")
    if expect_terminal:
        for task_id in not_terminal[:20]:
            verdict.fail("no loss", f"acknowledged {task_id} is {state[task_id][0].get('status')}, not terminal")

    # Acknowledged cancels are in the history.
    cancels = [c for c in calls if c["op"] == "cancel" and c.get("status") == 200]
    for call in cancels:
        task_events = state.get(call["task"], ({}, [], 0, 0))[1]
        if not any(e.get("status") in ("cancelling", "cancelled") for _, e in task_events):
            verdict.fail("no loss", f"cancel of {call['task']} answered 200 at {call['start']:.3f}, not in its history")

    # Index, lease and queue entries have their task; streams within bounds. A task that expired
    # moments ago may keep its entries until the retention janitor's next passes (every 5 s): an
    # entry is an orphan only when its task expired more than RETENTION_GRACE_MS ago, or never finished.
    seconds, micros = redis.call("TIME")
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    for shard in shard_prefixes(redis, prefix):
        finished = redis.call("ZRANGE", shard + "index:finished", 0, -1, "WITHSCORES")
        recently_expired = set()
        for member, score in zip(finished[0::2], finished[1::2]):
            task_id = member.split("\n")[0]
            if task_id in state:
                continue
            if int(float(score)) >= now_ms - RETENTION_GRACE_MS:
                recently_expired.add(task_id)
            else:
                verdict.fail("bounded state", f"{shard}index:finished holds {task_id}, expired {now_ms - int(float(score))} ms ago")
        for index in ("leases", "index:active", "index:updated", "delayed"):
            for member in redis.call("ZRANGE", shard + index, 0, -1):
                if member not in state and member not in recently_expired:
                    verdict.fail("bounded state", f"{shard}{index} holds {member}, which has no task")
        for queue in redis.scan(shard + "queue:*"):
            for member in redis.call("ZRANGE", queue, 0, -1):
                if member not in state and member not in recently_expired:
                    verdict.fail("bounded state", f"{queue} holds {member}, which has no task")
        length = redis.call("XLEN", shard + "events")
        if length > SHARD_STREAM_MAXLEN * 1.1:
            verdict.fail("bounded state", f"{shard}events has {length} entries, past MAXLEN {SHARD_STREAM_MAXLEN} + 10%")

    # SSE: every watcher saw every acknowledged task end (or was told of a gap), ids rising.
    for watcher in watchers:
        seen_terminal, gaps, last = set(), 0, None
        for event, event_id, data, _ in watcher.frames:
            if event in ("trimmed", "snapshot"):
                gaps += 1
            if event_id:
                if last is not None and not later(event_id, last):
                    verdict.fail("SSE", f"{watcher.name}: id {event_id} after {last}")
                last = event_id
            if data and data.get("lifecycleStatus") in FINISHED:
                seen_terminal.add(data.get("taskId"))
        missed = [t for t in acknowledged if t in state and state[t][0].get("status") in FINISHED and t not in seen_terminal]
        if missed and not gaps:
            verdict.fail("SSE", f"{watcher.name} missed the terminal event of {len(missed)} tasks, no gap announced (e.g. {missed[:3]})")
        verdict.figures[f"{watcher.name}"] = f"{len(watcher.frames)} frames, {watcher.reconnects} reconnects, {gaps} gaps announced, {len(missed)} endings not seen"

    errors = collections.Counter()
    for call in calls:
        status = call.get("status")
        if status is None:
            errors["transport error"] += 1
        elif status >= 500:
            errors[f"HTTP {status}{'' if call.get('retry_after') else ' without Retry-After'}"] += 1
    verdict.figures["creates acknowledged"] = len(acknowledged)
    verdict.figures["creates never acknowledged (client gave up)"] = len(unanswered)
    verdict.figures["tasks in Redis"] = len(state)
    verdict.figures["final statuses"] = dict(terminal_counts)
    retried = sum(1 for fields, _, _, _ in state.values() if int(fields.get("attempt") or 0) > 1)
    impacted = sum(1 for _, events, _, _ in state.values() if any(e.get("status") == "impacted" for _, e in events))
    verdict.figures["tasks retried (attempt > 1) / ever impacted"] = f"{retried} / {impacted}"
    verdict.figures["lost"] = len(lost)
    verdict.figures["duplicated"] = sum(len(ids) - 1 for ids in stored_by_key.values() if len(ids) > 1)
    verdict.figures["calls answered 5xx / transport errors (then retried)"] = dict(errors) or "none"
    return verdict


def percentile(values, share):
    """The value below which `share` of `values` lie (None for none)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else None


def written_at(sse_id):
    """When Redis wrote the event an SSE id names, in seconds (stream ids are Redis's clock): for
    the all-tasks stream's per-shard positions, the newest of them, the one the event moved."""
    return max(stream_key(position.split(":")[-1])[0] for position in sse_id.split(",")) / 1000


def later(a, b):
    """SSE ids: a stream id `ms-seq`, or one position per shard joined by `,` (each compared)."""
    pa, pb = a.split(","), b.split(",")
    if len(pa) != len(pb):
        return True
    keys_a, keys_b = [stream_key(x.split(":")[-1]) for x in pa], [stream_key(x.split(":")[-1]) for x in pb]
    return all(x >= y for x, y in zip(keys_a, keys_b)) and keys_a != keys_b
