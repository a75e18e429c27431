"""Load that remembers everything: clients whose every call is a history entry (client, operation,
task, Idempotency-Key, start and end, status, body), and SSE watchers of GET /v1/events whose every
frame is kept. The checker judges a scenario from these and from Redis alone."""
import base64
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

COMMAND_TYPES = ["backup", "reshard", "create_db", "delete_db"]
REQUEST_TIMEOUT = 30.0


class History:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []

    def add(self, entry):
        with self.lock:
            self.calls.append(entry)

    def snapshot(self):
        with self.lock:
            return list(self.calls)

    def dump(self, path):
        with open(path, "w") as f:
            for entry in self.snapshot():
                f.write(json.dumps(entry, sort_keys=True) + "\n")


def one_request(host, port, authorization, method, path, body=None, headers=None, timeout=REQUEST_TIMEOUT):
    """One HTTP/1.1 request on a connection of its own, so an error is the service's, never a stale
    keep-alive connection's: (status, body bytes, parsed JSON or None, response). Transport errors raise."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        all_headers = {"Authorization": authorization, "Connection": "close"}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        try:
            document = json.loads(data) if data else None
        except ValueError:
            document = None
        return response.status, data, document, response
    finally:
        connection.close()


class Client:
    """Logged calls through one endpoint: every call becomes a history entry."""

    def __init__(self, name, url, admin, history):
        self.name, self.history = name, history
        host_port = url.removeprefix("http://")
        self.host, _, port = host_port.partition(":")
        self.port = int(port)
        self.authorization = "Basic " + base64.b64encode(f"{admin[0]}:{admin[1]}".encode()).decode()

    def call(self, operation, method, path, body=None, headers=None, task=None, key=None):
        """One logged call: (status or None, JSON body or None, headers). A transport failure is status None."""
        # Wall-clock start and end for people reading the history; `mono` (time.monotonic) for the
        # scenarios, which time their faults with it.
        entry = {"client": self.name, "op": operation, "method": method, "path": path, "task": task, "key": key,
                 "start": time.time(), "mono": time.monotonic()}
        try:
            status, data, document, response = one_request(self.host, self.port, self.authorization, method, path, body,
                                                            dict(headers or {}, **({"Idempotency-Key": key} if key else {})))
            entry.update(status=status, body=data[:300].decode("utf-8", "replace"), end=time.time(),
                         retry_after=response.getheader("Retry-After"))
            if document and isinstance(document, dict) and not task:
                entry["task"] = document.get("taskId")
            return status, document, response
        except (OSError, http.client.HTTPException) as error:
            entry.update(status=None, error=f"{type(error).__name__}: {error}", end=time.time())
            return None, None, None
        finally:
            self.history.add(entry)


RETRYABLE = {None, 429, 502, 503, 504}


def create_with_retries(client, body, deadline):
    """POST /v1/tasks with one Idempotency-Key, sent again on a transport failure or a retryable
    status until it is acknowledged or `deadline` passes; the task id or None."""
    key = str(uuid.uuid4())
    while time.monotonic() < deadline:
        status, document, response = client.call("create", "POST", "/v1/tasks", body, key=key)
        if status in (200, 202) and document and document.get("taskId"):
            return document["taskId"]
        if status not in RETRYABLE:
            return None
        delay = 0.2
        if response is not None and (response.getheader("Retry-After") or "").isdigit():
            delay = min(2.0, float(response.getheader("Retry-After")))
        time.sleep(delay)
    return None


def drive(client, stop, created, cancel_share=0.1, pause=0.02, limit=None):
    """Creates tasks until `stop` (or `limit` created overall); cancels a share of them a moment later."""
    while not stop.is_set():
        with created["lock"]:
            if limit is not None and created["count"] >= limit:
                return
            created["count"] += 1
        body = {"commandType": random.choice(COMMAND_TYPES), "objectName": "chaos", "ops": ["1", "2"], "maxAttempts": 5}
        task = create_with_retries(client, body, time.monotonic() + 60)
        if task and random.random() < cancel_share:
            time.sleep(random.uniform(0.0, 0.3))
            for _ in range(20):
                status, _, _ = client.call("cancel", "POST", f"/v1/tasks/{task}/actions/cancel", task=task)
                if status not in RETRYABLE:
                    break
                time.sleep(0.2)
        stop.wait(pause)


class Watcher:
    """GET /v1/events through HAProxy, for as long as the scenario runs; a dropped stream is resumed
    with Last-Event-ID (on whichever replica HAProxy picks). Keeps every frame.

    Each watcher is a process of its own (`python3 load.py watch …`) that writes every frame as a
    line to its file, unparsed: in one process with the clients, three watchers parsing JSON
    fell 20–50 s behind the full tier's event stream (the GIL), and a watcher stopped while behind
    looks like one that missed events. The scenario's side reads the file on demand."""

    def __init__(self, name, url, admin, directory=None):
        self.name, self.url, self.admin = name, url, admin
        self.path = os.path.join(directory or tempfile.mkdtemp(prefix="chaos-watcher-"), f"{name}.frames")
        self.process = None
        self._frames, self._reconnects, self._offset = [], 0, 0

    def start(self):
        open(self.path, "w").close()
        environment = dict(os.environ, CHAOS_WATCH_URL=self.url, CHAOS_WATCH_KEY=self.admin[0],
                           CHAOS_WATCH_SECRET=self.admin[1], CHAOS_WATCH_FILE=self.path)
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "watch"], env=environment,
                                        stdin=subprocess.DEVNULL)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._read()

    def _read(self):
        """The lines written since the last read: frames (event, id, data dict or None, received)."""
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        complete = chunk.rfind(b"\n") + 1
        self._offset += complete
        for line in chunk[:complete].splitlines():
            entry = json.loads(line)
            if "reconnect" in entry:
                self._reconnects += 1
                continue
            try:
                document = json.loads(entry["data"]) if entry["data"] else None
            except ValueError:
                document = None
            self._frames.append((entry["event"], entry["id"], document, entry["received"]))

    @property
    def frames(self):
        self._read()
        return self._frames

    @property
    def reconnects(self):
        self._read()
        return self._reconnects

    def dump(self, path):
        with open(path, "w") as f:
            for event, event_id, data, received in self.frames:
                f.write(json.dumps({"event": event, "id": event_id, "data": data, "received": received}, sort_keys=True) + "\n")


def watch_forever():
    """The watcher process: streams GET /v1/events into CHAOS_WATCH_FILE until SIGTERM."""
    url = os.environ["CHAOS_WATCH_URL"].removeprefix("http://")
    host, _, port = url.partition(":")
    authorization = "Basic " + base64.b64encode(f"{os.environ['CHAOS_WATCH_KEY']}:{os.environ['CHAOS_WATCH_SECRET']}".encode()).decode()
    out = open(os.environ["CHAOS_WATCH_FILE"], "a", buffering=1)  # a line a frame: the scenario reads along
    stopping = threading.Event()

    def on_term(*_):
        stopping.set()
        out.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    last_id = None
    while not stopping.is_set():
        try:
            last_id = stream_once(host, int(port), authorization, last_id, out)
        except (OSError, http.client.HTTPException, ValueError):
            pass
        out.write(json.dumps({"reconnect": True}) + "\n")
        time.sleep(0.2)


def stream_once(host, port, authorization, last_id, out):
    """One connection's frames, written as they complete; the last id seen."""
    connection = http.client.HTTPConnection(host, port, timeout=60)
    headers = {"Authorization": authorization, "Accept": "text/event-stream"}
    if last_id:
        headers["Last-Event-ID"] = last_id
    connection.request("GET", "/v1/events", headers=headers)
    response = connection.getresponse()
    if response.status != 200:
        response.read()
        return last_id
    event, event_id, data = None, None, []
    while True:
        # The response's own readline: the body is chunked, and the raw socket's lines would
        # hold chunk sizes and split SSE lines at chunk boundaries.
        raw = response.readline()
        if not raw:
            return last_id
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line == "":
            if event is not None or data:
                out.write(json.dumps({"event": event, "id": event_id, "data": "\n".join(data), "received": time.time()}) + "\n")
                if event_id:
                    last_id = event_id
            event, event_id, data = None, None, []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


if __name__ == "__main__" and sys.argv[1:] == ["watch"]:
    watch_forever()
