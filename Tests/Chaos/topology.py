"""The processes a fault scenario runs against, all on loopback and all started and stopped here:
a redis-server (AOF), three taskd replicas behind HAProxy (Docker/haproxy.cfg, as `./dev stack`
runs it) and the demo worker. Every process can be killed, frozen and started again on its port.
"""
import os
import shutil
import signal
import socket
import subprocess
import time
import secrets

from resp import Redis, RedisError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def log(message):
    """A line of the fault suite's own output."""
    print(f"chaos: {message}", flush=True)


def free_port():
    return free_ports(1)[0]


def free_ports(count):
    """`count` distinct free loopback ports: each socket stays bound until all are chosen (one at a
    time, the kernel may hand out a port just released again)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def wait_until(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (OSError, RedisError):  # not up yet, or still loading its AOF
            pass
        time.sleep(interval)
    return False


def http_get(port, path, timeout=2):
    """One GET on loopback: (status, body text), or (None, "") when nothing answered."""
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return None, ""
    finally:
        connection.close()


def http_status(port, path):
    return http_get(port, path)[0]


class Process:
    """One program of the topology: started with its arguments and environment, restartable."""

    def __init__(self, name, argv, env, log_path):
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.popen = None
        self.starts = 0

    def start(self):
        log = open(self.log_path, "a")
        log.write(f"--- start {self.starts + 1} at {time.time():.3f}\n")
        log.flush()
        self.popen = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.starts += 1

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def signal(self, number):
        if self.running():
            os.kill(self.popen.pid, number)

    def kill(self):
        """SIGKILL and reap."""
        if self.running():
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def stop(self, timeout=15):
        """SIGTERM (SIGCONT first, a frozen process cannot act on it), SIGKILL after `timeout`;
        returns the seconds it took to exit."""
        if not self.running():
            return 0.0
        started = time.monotonic()
        os.kill(self.popen.pid, signal.SIGCONT)
        os.kill(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        return time.monotonic() - started


class Topology:
    REPLICAS = 3

    def __init__(self, directory, bin_dir, prefix="chaos", appendfsync="everysec", demo_settings=None, taskd_settings=None,
                 without_config=False):
        """`without_config`: taskd talks to Redis as a user that may not run CONFIG (as with
        Docker/redis-acl/taskd.acl), so it cannot change notify-keyspace-events by itself."""
        self.directory = directory
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(os.path.join(directory, "redis"))
        self.prefix = prefix
        self.admin = ("chaos-admin", secrets.token_hex(24))
        # ./dev test searches every log of the run for the secrets the tests used.
        if os.environ.get("TASKD_TEST_SECRETS_DIR"):
            os.makedirs(os.environ["TASKD_TEST_SECRETS_DIR"], exist_ok=True)
            with open(os.path.join(os.environ["TASKD_TEST_SECRETS_DIR"], "secrets-chaos.txt"), "a") as f:
                f.write(self.admin[1] + "\n")
        self.redis_port, self.http_port, self.stats_port, *self.replica_ports = free_ports(3 + self.REPLICAS)
        base = {k: v for k, v in os.environ.items() if not k.startswith("TASKD_")}
        self.redis = Process("redis", [
            "redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port), "--dir", os.path.join(directory, "redis"),
            "--save", "", "--appendonly", "yes", "--appendfsync", appendfsync,
            "--notify-keyspace-events", "Kt", "--maxmemory-policy", "noeviction",
        ] + (["--user", "taskd", "on", ">chaos-taskd-password", "~*", "&*", "+@all", "-config"] if without_config else []),
            base, os.path.join(directory, "redis.log"))
        redis_url = f"redis://taskd:chaos-taskd-password@127.0.0.1:{self.redis_port}" if without_config \
            else f"redis://127.0.0.1:{self.redis_port}"
        self.replicas = []
        for n, port in enumerate(self.replica_ports, start=1):
            env = dict(base, TASKD_REDIS_URL=redis_url, TASKD_HOST="127.0.0.1", TASKD_PORT=str(port), TASKD_PREFIX=prefix,
                       TASKD_ADMIN_KEY=self.admin[0], TASKD_ADMIN_SECRET=self.admin[1],
                       # CHAOS_TASKD_LOG_LEVEL=debug shows, e.g., which service a slow shutdown waits for.
                       TASKD_LOG_LEVEL=os.environ.get("CHAOS_TASKD_LOG_LEVEL", "info"),
                       TASKD_PUBLIC_URL=f"http://127.0.0.1:{self.http_port}", TASKD_TRUSTED_PROXIES="127.0.0.1",
                       **(taskd_settings or {}))
            self.replicas.append(Process(f"taskd{n}", [os.path.join(bin_dir, "taskd")], env,
                                         os.path.join(directory, f"taskd{n}.log")))
        haproxy_env = dict(base, HAPROXY_BIND=f"127.0.0.1:{self.http_port}", HAPROXY_STATS_BIND=f"127.0.0.1:{self.stats_port}",
                           **{f"TASKD{n}_ADDR": f"127.0.0.1:{port}" for n, port in enumerate(self.replica_ports, start=1)})
        self.haproxy = Process("haproxy", ["haproxy", "-db", "-f", os.path.join(ROOT, "Docker", "haproxy.cfg")], haproxy_env,
                               os.path.join(directory, "haproxy.log"))
        worker_env = dict(base, TASKD_REDIS_URL=redis_url, TASKD_PREFIX=prefix, TASKD_LOG_LEVEL="info",
                          TASKD_DEMO_STEP_MS="20", TASKD_DEMO_CONCURRENCY="32", TASKD_DEMO_FAILURE_RATE="0.1",
                          **(demo_settings or {}))
        self.worker = Process("demo-worker", [os.path.join(bin_dir, "taskd-demo-worker")], worker_env,
                              os.path.join(directory, "demo-worker.log"))

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def redis_client(self):
        return Redis("127.0.0.1", self.redis_port)

    def start_redis(self):
        self.redis.start()
        if not wait_until(lambda: self.redis_client().call("PING") == "PONG", 10):
            raise RuntimeError(f"redis-server did not start; see {self.redis.log_path}")

    def start_replica(self, index, timeout=60):
        self.replicas[index].start()
        self.wait_ready(index, timeout)

    def wait_ready(self, index, timeout=60):
        port = self.replica_ports[index]
        if not wait_until(lambda: http_status(port, "/health/ready") == 200, timeout):
            raise RuntimeError(f"{self.replicas[index].name} did not become ready; see {self.replicas[index].log_path}")

    def start(self):
        self.start_redis()
        for replica in self.replicas:
            replica.start()
        for index in range(self.REPLICAS):
            self.wait_ready(index)
        self.haproxy.start()
        # HAProxy itself must answer: if another process took its port meanwhile, it exits.
        if not wait_until(lambda: self.haproxy.running() and http_status(self.http_port, "/health/ready") == 200, 20) \
                or not self.haproxy.running():
            raise RuntimeError(f"HAProxy does not answer; see {self.haproxy.log_path}")
        self.worker.start()

    def stop(self):
        """Newest first: the worker hands its tasks back, HAProxy, the replicas, Redis."""
        for process in [self.worker, self.haproxy, *reversed(self.replicas), self.redis]:
            process.stop()

    def rss_bytes(self, process):
        with open(f"/proc/{process.pid}/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))

    def pids(self):
        return {p.name: p.pid for p in [self.redis, *self.replicas, self.haproxy, self.worker]}
