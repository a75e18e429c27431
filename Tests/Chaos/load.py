"""Load that remembers everything: clients whose every call is a history entry (client, operation,
task, Idempotency-Key, start and end, status, body), and SSE watchers of GET /v1/events whose every
frame is kept. The checker judges a scenario from these and from Redis alone."""
import base64
import http.client
import json
import random
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


class Watcher(threading.Thread):
    """GET /v1/events through HAProxy, for as long as the scenario runs; a dropped stream is resumed
    with Last-Event-ID (on whichever replica HAProxy picks). Keeps every frame."""

    def __init__(self, name, url, admin):
        super().__init__(daemon=True, name=name)
        host_port = url.removeprefix("http://")
        self.host, _, port = host_port.partition(":")
        self.port = int(port)
        self.authorization = "Basic " + base64.b64encode(f"{admin[0]}:{admin[1]}".encode()).decode()
        self.frames = []        # (event, id, data dict or None, wall-clock time received)
        self.reconnects = 0
        self.stopping = threading.Event()
        self.last_id = None
        self.connection = None

    def dump(self, path):
        with open(path, "w") as f:
            for event, event_id, data, received in self.frames:
                f.write(json.dumps({"event": event, "id": event_id, "data": data, "received": received}, sort_keys=True) + "\n")

    def stop(self):
        self.stopping.set()
        connection = self.connection
        if connection is not None and connection.sock is not None:
            try:
                connection.sock.shutdown(2)
            except OSError:
                pass

    def run(self):
        while not self.stopping.is_set():
            try:
                self.stream()
            except (OSError, http.client.HTTPException, ValueError):
                pass
            if self.stopping.is_set():
                return
            self.reconnects += 1
            time.sleep(0.2)

    def stream(self):
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {"Authorization": self.authorization, "Accept": "text/event-stream"}
        if self.last_id:
            headers["Last-Event-ID"] = self.last_id
        self.connection.request("GET", "/v1/events", headers=headers)
        response = self.connection.getresponse()
        if response.status != 200:
            response.read()
            return
        event, event_id, data = None, None, []
        while not self.stopping.is_set():
            # The response's own readline: the body is chunked, and the raw socket's lines would
            # hold chunk sizes and split SSE lines at chunk boundaries.
            raw = response.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line == "":
                if event is not None or data:
                    try:
                        document = json.loads("\n".join(data)) if data else None
                    except ValueError:
                        document = None
                    self.frames.append((event, event_id, document, time.time()))
                    if event_id:
                        self.last_id = event_id
                event, event_id, data = None, None, []
            elif line.startswith(":"):
                continue
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
