"""A small RESP2 client for the checker: its own connection to Redis, so the verdict never depends
on taskd. Commands one at a time or pipelined; replies as str, int, list or None; errors raise."""
import socket


class RedisError(Exception):
    pass


class Redis:
    def __init__(self, host, port, timeout=10):
        self.socket = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def close(self):
        self.socket.close()

    @staticmethod
    def encode(args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(parts)

    def call(self, *args):
        return self.pipeline([args])[0]

    def pipeline(self, commands):
        """Sends every command, then reads every reply; an error reply is raised after all are read."""
        self.socket.sendall(b"".join(self.encode(c) for c in commands))
        replies = [self.read() for _ in commands]
        for reply in replies:
            if isinstance(reply, RedisError):
                raise reply
        return replies

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.socket.recv(65536)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def exactly(self, n):
        while len(self.buffer) < n + 2:
            chunk = self.socket.recv(65536)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n + 2:]
        return data

    def read(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.exactly(n).decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RedisError(f"unexpected reply {line[:40]!r}")

    def scan(self, pattern, count=1000):
        cursor = "0"
        while True:
            cursor, keys = self.call("SCAN", cursor, "MATCH", pattern, "COUNT", count)
            yield from keys
            if cursor == "0":
                return
