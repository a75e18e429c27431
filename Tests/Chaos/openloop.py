"""Open-loop and closed-loop HTTP load on keep-alive connections (asyncio, plain HTTP/1.1), for the
overload scenario. Open loop: requests are sent on a fixed schedule whatever the answers take, as
real clients arrive, and each one's latency counts from when it was due, so a stalled service is
charged for the requests it kept waiting (no coordinated omission). Closed loop: a fixed number of
connections, each sending its next request when the last is answered (what the maximum is measured
with). Every request becomes a history entry in load.History's shape."""
import asyncio
import base64
import json
import time

TIMEOUT = 30.0
# How long open_loop waits, after its last request was due, for every request to be answered.
DRAIN_LIMIT = 120.0


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


class Connection:
    """One keep-alive connection; `request` sends one request and reads its whole answer."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.used = time.monotonic()
        # Not yet used for a request: a failure on it is the service's, not a stale keep-alive's.
        self.fresh = True

    @classmethod
    async def open(cls, host, port):
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def request(self, raw):
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await self.reader.readexactly(length) if length else b""
        return Answer(status, headers, body)

    @property
    def reusable(self):
        return not self.writer.is_closing()

    def close(self):
        self.writer.close()


class Target:
    """Where requests go and as whom; `encode` makes one request's bytes."""

    def __init__(self, host, port, admin):
        self.host, self.port = host, port
        self.authorization = "Basic " + base64.b64encode(f"{admin[0]}:{admin[1]}".encode()).decode()

    def encode(self, method, path, body=None, key=None):
        data = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: {self.authorization}\r\n"
        if key:
            head += f"Idempotency-Key: {key}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        return head.encode() + b"\r\n" + data


class Pool:
    """Keep-alive connections to `target`, at most `limit` open: past it, a request waits for one
    to come free (the wait counts in its latency)."""

    def __init__(self, target, limit):
        self.target, self.limit = target, limit
        self.idle, self.opened = [], 0
        self.freed = asyncio.Condition()

    # HAProxy closes a keep-alive connection idle for 10 s (Docker/haproxy.cfg): one idle for 5 s is
    # not reused, so a close racing a request is never counted as the service's failure.
    IDLE_REUSE = 5.0

    async def acquire(self, fresh=False):
        async with self.freed:
            while not self.idle and self.opened >= self.limit:
                await self.freed.wait()
            while self.idle and not fresh:
                connection = self.idle.pop()
                if time.monotonic() - connection.used < self.IDLE_REUSE and connection.reusable:
                    connection.fresh = False
                    return connection
                connection.close()
                self.opened -= 1
            if fresh and self.opened >= self.limit and self.idle:
                self.idle.pop().close()  # make room within the limit
                self.opened -= 1
            self.opened += 1
        try:
            return await asyncio.wait_for(Connection.open(self.target.host, self.target.port), TIMEOUT)
        except BaseException:
            await self.release(None)
            raise

    async def release(self, connection):
        """Back to the idle list, or closed and its place freed (None: it never opened)."""
        async with self.freed:
            if connection is not None and connection.reusable:
                connection.used = time.monotonic()
                self.idle.append(connection)
            else:
                if connection is not None:
                    connection.close()
                self.opened -= 1
            self.freed.notify()

    def close(self):
        for connection in self.idle:
            connection.close()
        self.idle = []


async def send(pool, request, entry):
    """One request through `pool`; fills `entry` (status, retry_after, body, task, end) and returns
    the answer, or None after a transport failure or a timeout."""
    op, method, path, body, key = request
    connection = None
    try:
        connection = await pool.acquire()
        # When it really went out: with every connection busy, long after it was due.
        entry["sent"] = time.monotonic()
        try:
            answer = await asyncio.wait_for(connection.request(pool.target.encode(method, path, body, key)), TIMEOUT)
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as error:
            # A kept-alive connection the server closed as this request went out: nothing of an
            # answer came, so it is sent once more on a new connection, as HTTP clients do (every
            # request here is a read or a create with an Idempotency-Key: safe to repeat).
            if connection.fresh or (isinstance(error, asyncio.IncompleteReadError) and error.partial):
                raise
            connection.close()
            await pool.release(connection)
            connection = None
            connection = await pool.acquire(fresh=True)
            answer = await asyncio.wait_for(connection.request(pool.target.encode(method, path, body, key)), TIMEOUT)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError) as error:
        if connection is not None:
            connection.close()
            await pool.release(connection)
        entry.update(status=None, error=f"{type(error).__name__}: {error}", end=time.time())
        return None
    entry["end"] = time.time()
    if answer.headers.get("connection", "").lower() == "close":
        connection.close()
    await pool.release(connection)
    entry.update(status=answer.status, retry_after=answer.headers.get("retry-after"), body=answer.body[:300].decode("utf-8", "replace"))
    document = answer.json()
    if op == "create" and isinstance(document, dict):
        entry["task"] = document.get("taskId")
    return answer


async def open_loop(target, rate, seconds, next_request, history, client, max_connections=1024, on_answer=None):
    """`rate` requests a second for `seconds`, each made by `next_request()` as
    (op, method, path, body, key); returns how many were due, how many of them were sent more
    than 100 ms late (the generator itself could not keep up, or every connection was busy), and
    when (monotonic) the last of them was sent: the offered load ends then, not at `seconds`.
    "Sent" is when the request got a connection and was written, not when it was due: with all
    `max_connections` busy, requests wait for one, and the overload lasts until the last is out.
    Returns when every request was answered or timed out (nothing of it in flight afterwards, for
    the checker), or after DRAIN_LIMIT with the rest cancelled: their number is the fourth value."""
    pool = Pool(target, max_connections)
    pending = set()
    started = time.monotonic()
    late = 0
    last_sent = started

    async def one(due_at, request):
        nonlocal late, last_sent
        entry = {"client": client, "op": request[0], "method": request[1], "path": request[2], "key": request[4],
                 "task": None, "start": time.time(), "mono": time.monotonic(), "due": due_at}
        answer = await send(pool, request, entry)
        sent = entry.get("sent", entry["mono"])
        last_sent = max(last_sent, sent)
        entry["latency"] = time.monotonic() - due_at
        if sent - due_at > 0.1:
            late += 1
        history.add(entry)
        if on_answer is not None and answer is not None:
            on_answer(request, answer, entry)

    total = int(rate * seconds)
    for n in range(total):
        due_at = started + n / rate
        delay = due_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.ensure_future(one(due_at, next_request()))
        pending.add(task)
        task.add_done_callback(pending.discard)
        if len(pending) > 20_000:  # bounded: a service that stopped answering must not grow the harness without end
            await asyncio.sleep(0.05)
    # Each request ends by itself (an answer, a transport error, or its TIMEOUT once it is out),
    # but one waiting for a connection waits for those ahead of it: bounded, what is left after
    # DRAIN_LIMIT is cancelled and counted as abandoned (a failure: no answer in time).
    abandoned = 0
    if pending:
        _, left = await asyncio.wait(pending, timeout=DRAIN_LIMIT)
        abandoned = len(left)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
    pool.close()
    return total, late, last_sent, abandoned


async def closed_loop(target, connections, seconds, next_request, history, client, on_answer=None):
    """`connections` loops, each sending its next request when the last is answered, for `seconds`;
    returns the 2xx answers a second."""
    pool = Pool(target, connections)
    deadline = time.monotonic() + seconds
    good = 0

    async def loop():
        nonlocal good
        while time.monotonic() < deadline:
            request = next_request()
            entry = {"client": client, "op": request[0], "method": request[1], "path": request[2], "key": request[4],
                     "task": None, "start": time.time(), "mono": time.monotonic()}
            answer = await send(pool, request, entry)
            entry["latency"] = time.monotonic() - entry["mono"]
            history.add(entry)
            if answer is None:
                await asyncio.sleep(0.05)
                continue
            if 200 <= answer.status < 300:
                good += 1
            if on_answer is not None:
                on_answer(request, answer, entry)

    begun = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(connections)))
    pool.close()
    return good / (time.monotonic() - begun)
