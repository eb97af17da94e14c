"""Benchmark: the service under load, `POST /v1/evaluaties` on loopback (127.0.0.1 only).

`vangnet serve` runs in a subprocess (WEB_PROCESSES uvicorn processes, each with
ENGINE_WORKERS engine processes; the rate limit raised through VANGNET_EVALUATIONS_PER_MINUTE).
Every request of the open loop carries a distinct claim from `benchmarks/claims.py`: 10
measure lines, about 2.2 kB of JSON; the closed loop cycles through 2,500 more.

1. Open loop: a fixed OPEN_RATE requests/s for OPEN_SECONDS, sent on schedule whether or not
   earlier answers have come back. Latency runs from the *intended* send time, so a stalled
   server shows up as queueing in the figures instead of silently slowing the client down
   (coordinated omission). Target: no errors, p99 at most 50 ms.
2. Closed loop: N clients, each sending its next request as soon as the previous one is
   answered, for CLOSED_SECONDS per N; the highest throughput is the service's maximum.

Each part gets a fresh, warmed-up server: an overloaded open loop leaves a backlog of
evaluations behind that would distort what follows.

The client is asyncio with raw streams on persistent HTTP/1.1 connections (opened as needed,
at most MAX_CONNECTIONS): each request is prepared as bytes beforehand and the answer is read
by Content-Length. On a 2-core machine the load generator shares the CPU with the server, so
it must cost little and keep its schedule. Measured here (2026-11-28, 300 requests/s open loop
on GET /v1/health): this client about 0.45 ms of CPU per request (14 % of a core);
httpx.AsyncClient with a 512-connection pool about 12 ms per request: it fell seconds behind
its schedule, which would have been reported as the server's latency. The client's CPU use
is printed beside the figures. The server's CPU per answered request is split into the web
process (HTTP, validation, JSON) and the engine processes, which says where the time goes.
Everything is bounded: a fixed number of requests, a 10 s timeout per request, and the
servers are stopped at the end.

Every pre-check writes an audit entry (`evaluatie.uitvoeren`). After each server has stopped
(so that entries still queued in an `AuditBuffer` are flushed) the benchmark counts those
entries against the answers and verifies the chain: a fast run that lost entries or broke
the chain does not count.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks.claims import make_claims

HOST = "127.0.0.1"
# two cores: the web process's share of a request is the larger one, so two web processes,
# each with one engine process, keep both cores busy (measured against 1 x 2 and 2 x 2)
WEB_PROCESSES = 2
ENGINE_WORKERS = 1
CLAIM_LINES = 10
OPEN_RATE = 300
OPEN_SECONDS = 30
CLOSED_SECONDS = 15
CLOSED_CLIENTS = (4, 16, 64)
TIMEOUT = 10.0
MAX_CONNECTIONS = 512
IDLE_LIMIT = 4.0  # uvicorn closes keep-alive connections idle for 5 s
P99_TARGET_MS = 50.0
WARM_UP = 500  # requests before measuring, each with its audit entry
ROOT = Path(__file__).resolve().parent.parent


# --- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def start_server(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VANGNET_")}
    env |= {
        "VANGNET_DATA_DIR": str(tmp / "data"),
        "VANGNET_ENGINE_WORKERS": str(ENGINE_WORKERS),
        "VANGNET_EVALUATIONS_PER_MINUTE": "100000000",
    }
    cmd = [sys.executable, "-m", "vangnet", "serve", "--host", HOST, "--port", str(port),
           "--workers", str(WEB_PROCESSES)]  # fmt: skip
    with (tmp / "serve.log").open("wb") as log:
        server = subprocess.Popen(  # noqa: S603
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"vangnet serve stopped:\n{(tmp / 'serve.log').read_text()}")
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                s.sendall(f"GET /v1/health HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return server
        except OSError:
            time.sleep(0.1)
    stop_server(server)
    raise SystemExit("vangnet serve did not answer within 60 s")


@contextmanager
def serving(tmp: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A warmed-up `vangnet serve` on a free loopback port, stopped afterwards."""
    tmp.mkdir()
    port = _free_port()
    server = start_server(tmp, port)
    try:
        yield server, port
    finally:
        stop_server(server)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def server_cpu(server: subprocess.Popen[bytes]) -> tuple[float, float]:
    """CPU seconds so far of (the web processes, the engine processes)."""
    web = engine = 0.0
    root = psutil.Process(server.pid)
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
            cmdline = " ".join(p.cmdline())
        except psutil.NoSuchProcess:
            continue
        if "resource_tracker" in cmdline:
            continue
        # the engine processes are the children of a web process; with one web process the
        # web process is the server itself
        is_engine = p.pid != server.pid and (WEB_PROCESSES == 1 or p.ppid() != server.pid)
        if is_engine:
            engine += t.user + t.system
        else:
            web += t.user + t.system
    return web, engine


def audit_check(data_dir: Path, answered: int) -> tuple[bool, str]:
    """After the server stopped: whether every answer has its pre-check entry (a request the
    client gave up on may have one too) and the chain verifies; and a line saying so."""
    from sqlalchemy import func, select

    from vangnet.service.audit import AuditLog
    from vangnet.service.db import create_db_engine
    from vangnet.service.models import Auditregel
    from vangnet.service.settings import Settings

    settings = Settings.from_env({"VANGNET_DATA_DIR": str(data_dir)})
    engine = create_db_engine(settings.db_url)
    try:
        with engine.connect() as connection:
            entries = connection.scalar(
                select(func.count())
                .select_from(Auditregel)
                .where(Auditregel.action == "evaluatie.uitvoeren")
            )
        verified = AuditLog.from_settings(settings).verify(engine)
    finally:
        engine.dispose()
    count = int(entries or 0)
    ok = count >= answered and verified.ok
    chain = "chain intact" if verified.ok else f"CHAIN BROKEN: {verified.text()}"
    return ok, (
        f"audit log: {count} pre-check entries for {answered} answers (warm-up included);"
        f" {chain}{'' if ok else ' -- NOT OK'}"
    )


# --- the client -------------------------------------------------------------------------------


@dataclass
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last_used: float = 0.0


@dataclass
class Pool:
    """Persistent connections, most recently used first, opened as needed up to a limit."""

    port: int
    idle: list[Connection] = field(default_factory=list)
    opened: int = 0
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_CONNECTIONS))

    async def get(self) -> Connection:
        """A connection: call only while holding one of the `slots`."""
        now = time.monotonic()
        while self.idle:
            conn = self.idle.pop()
            if now - conn.last_used < IDLE_LIMIT:
                return conn
            conn.writer.close()
        reader, writer = await asyncio.open_connection(HOST, self.port)  # TCP_NODELAY is set
        self.opened += 1
        return Connection(reader, writer)

    def put(self, conn: Connection | None) -> None:
        """Give back a slot, with its connection if that is still usable."""
        if conn is not None:
            conn.last_used = time.monotonic()
            self.idle.append(conn)
        self.slots.release()

    def close(self) -> None:
        for conn in self.idle:
            conn.writer.close()


def prepare(claims: list[bytes], port: int) -> list[bytes]:
    head = (
        f"POST /v1/evaluaties HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        "Content-Type: application/json\r\nContent-Length: {n}\r\n\r\n"
    )
    return [head.replace("{n}", str(len(body))).encode() + body for body in claims]


async def send(conn: Connection, request: bytes) -> int:
    """One request on a kept-alive connection; the status code."""
    conn.writer.write(request)
    head = await conn.reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await conn.reader.readexactly(length)
    return int(head[9:12])


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)  # from intended to actual send
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def timed(pool: Pool, request: bytes, intended: float, results: Results) -> None:
    """Send one request; its latency counts from `intended`, answered or not."""
    conn: Connection | None = None
    slot = False
    try:
        async with asyncio.timeout(TIMEOUT):
            await pool.slots.acquire()
            slot = True
            conn = await pool.get()
            results.lags.append(time.monotonic() - intended)
            status = await send(conn, request)
        if status != 200:
            results.error(f"HTTP {status}")
    except TimeoutError:
        results.error("timeout")
        _close(conn)
        conn = None
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        results.error(type(exc).__name__)
        _close(conn)
        conn = None
    finally:
        results.latencies.append(time.monotonic() - intended)
        if slot:
            pool.put(conn)


def _close(conn: Connection | None) -> None:
    """Close a connection that may be mid-answer; it cannot be used again."""
    if conn is not None:
        conn.writer.close()


async def open_loop(port: int, requests: list[bytes]) -> tuple[Results, float, int]:
    """Requests at fixed intended times; (results, elapsed seconds, connections opened)."""
    pool, results = Pool(port), Results()
    tasks = []
    start = time.monotonic() + 0.2
    for i, request in enumerate(requests):
        intended = start + i / OPEN_RATE
        delay = intended - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed(pool, request, intended, results)))
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    pool.close()
    return results, elapsed, pool.opened


async def closed_loop(port: int, requests: list[bytes], clients: int) -> tuple[Results, float]:
    """`clients` connections, each sending as soon as its previous answer is in."""
    pool, results = Pool(port), Results()
    deadline = time.monotonic() + CLOSED_SECONDS
    counter = iter(range(10**9))

    async def client() -> None:
        while time.monotonic() < deadline:
            request = requests[next(counter) % len(requests)]
            await timed(pool, request, time.monotonic(), results)

    start = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.monotonic() - start
    pool.close()
    return results, elapsed


# --- measuring and reporting ------------------------------------------------------------------


@dataclass
class Cpu:
    """CPU seconds used during one phase, by the server's processes and by this client."""

    web: float
    engine: float
    client: float


class Phase:
    """Measures the CPU of the server and the client around one phase."""

    def __init__(self, server: subprocess.Popen[bytes]) -> None:
        self.server = server

    def __enter__(self) -> Phase:
        self.web, self.engine = server_cpu(self.server)
        self.client = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        web, engine = server_cpu(self.server)
        self.cpu = Cpu(web - self.web, engine - self.engine, time.process_time() - self.client)


def _ms(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * q))] * 1e3


def _errors(results: Results) -> str:
    if not results.errors:
        return "no errors"
    return ", ".join(f"{n} {kind}" for kind, n in sorted(results.errors.items()))


def _latency(results: Results) -> str:
    xs = results.latencies
    return f"p50 {_ms(xs, 0.5):.1f} ms, p99 {_ms(xs, 0.99):.1f} ms, max {_ms(xs, 1.0):.1f} ms"


def _cpu(cpu: Cpu, answered: int, wall: float) -> str:
    n = max(answered, 1)
    return (
        f"CPU per answer: web {cpu.web / n * 1e3:.2f} ms, engine {cpu.engine / n * 1e3:.2f} ms;"
        f" busy: server {(cpu.web + cpu.engine) / wall:.0%}, client {cpu.client / wall:.0%}"
        " (of one core)"
    )


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()[0]
    return (
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; nproc {os.cpu_count()}; {cpu};"
        f" Python {platform.python_version()}; load average {load:.2f} before the run"
    )


async def warm_up(port: int, requests: list[bytes]) -> None:
    """Start every engine process and warm every path before measuring."""
    pool, results = Pool(port), Results()
    await asyncio.gather(*(timed(pool, r, time.monotonic(), results) for r in requests))
    pool.close()
    if results.errors:
        raise SystemExit(f"warm-up failed: {_errors(results)}")


def main() -> int:
    n_open = OPEN_RATE * OPEN_SECONDS
    claims = [json.dumps(c).encode() for c in make_claims(n_open + 3000, lines=CLAIM_LINES)]
    size = sum(map(len, claims)) / len(claims)
    print(f"service under load on loopback, POST /v1/evaluaties ({machine()})")
    print(
        f"  vangnet serve --workers {WEB_PROCESSES}, VANGNET_ENGINE_WORKERS={ENGINE_WORKERS};"
        f" distinct claims of {CLAIM_LINES} lines ({size / 1000:.1f} kB of JSON)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        # a fresh server for each part: an overloaded open loop leaves a backlog behind
        with serving(Path(tmp) / "open") as (server, port):
            requests = prepare(claims, port)
            asyncio.run(warm_up(port, requests[n_open : n_open + WARM_UP]))
            with Phase(server) as phase:
                results, wall, opened = asyncio.run(open_loop(port, requests[:n_open]))
        answered = len(results.latencies) - sum(results.errors.values())
        audited, audit_line = audit_check(Path(tmp) / "open" / "data", answered + WARM_UP)
        print(
            f"  open loop, {OPEN_RATE} requests/s for {OPEN_SECONDS} s ({n_open} requests,"
            f" {opened} connections): {_errors(results)}; latency from the intended send"
            f" time {_latency(results)} (client lag before sending: p99"
            f" {_ms(results.lags, 0.99):.1f} ms)"
        )
        print(f"    {_cpu(phase.cpu, answered, wall)}")
        print(f"    {audit_line}")
        met = audited and not results.errors and _ms(results.latencies, 0.99) <= P99_TARGET_MS
        verdict = "met" if met else "NOT MET"
        print(
            f"    target (no errors, p99 at most {P99_TARGET_MS:.0f} ms, every answer in the"
            f" audit log): {verdict}"
        )

        best = (0.0, 0)
        closed_answered = WARM_UP
        with serving(Path(tmp) / "closed") as (server, port):
            requests = prepare(claims, port)
            asyncio.run(warm_up(port, requests[n_open : n_open + WARM_UP]))
            for clients in CLOSED_CLIENTS:
                with Phase(server) as phase:
                    results, wall = asyncio.run(
                        closed_loop(port, requests[n_open + WARM_UP :], clients)
                    )
                answered = len(results.latencies) - sum(results.errors.values())
                closed_answered += answered
                rate = answered / wall
                best = max(best, (rate, clients))
                print(
                    f"  closed loop, {clients} clients for {CLOSED_SECONDS} s: {rate:.0f}"
                    f" answers/s; {_errors(results)}; latency {_latency(results)}"
                )
                print(f"    {_cpu(phase.cpu, answered, wall)}")
        print(f"  maximum throughput: {best[0]:.0f} answers/s ({best[1]} clients)")
        print(f"    {audit_check(Path(tmp) / 'closed' / 'data', closed_answered)[1]}")
        print(f"  load average after the run: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
