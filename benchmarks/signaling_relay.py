"""Relay benchmark: our signaling server next to the PeerJS server, driven by one load generator.

    .venv/bin/python -m benchmarks.signaling_relay            # full run (installs PeerJS)
    .venv/bin/python -m benchmarks.signaling_relay --tiny     # ours only, seconds

Everything listens on 127.0.0.1. Servers run in their own processes; CPU time comes from
/proc/<pid>/stat and memory from /proc/<pid>/status of the server process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

HERE = Path(__file__).resolve().parent
PEERJS_DIR = HERE / ".peerjs"
ORIGIN = "http://127.0.0.1"
RESUME_WINDOW = 5.0
REDIS_URL = os.environ.get("BENCHMARK_REDIS_URL", "redis://127.0.0.1:6379/0")
CANDIDATE = (
    "candidate:842163049 1 udp 1677729535 203.0.113.7 54321 typ srflx raddr 10.0.0.2 "
    "rport 54321 generation 0 ufrag abcd network-cost 999"
)


# --- server processes ------------------------------------------------------------------------
class OpenAuthorizer:
    """Benchmark-only tickets "room:user:role", always valid for an hour."""

    async def authorize(self, ticket: str, room_id: str | None) -> object:
        """Split the ticket into an admission."""
        from signaling import Admission, Role

        room, user, role = ticket.split(":")
        end = datetime.now(UTC) + timedelta(hours=1)
        return Admission(room, user, user, Role(role), end)


def serve_ours(port: int, bus_kind: str = "memory") -> None:
    """Run our signaling server on uvloop until killed; `bus_kind` "redis" uses REDIS_URL."""
    import uvloop

    from signaling import Limits, SignalingConfig, setup_signaling

    raise_fd_limit()
    app = web.Application()
    bus = None
    if bus_kind == "redis":
        from redis.asyncio import BlockingConnectionPool, Redis

        from signaling.redis_bus import RedisBus

        # A blocking pool: past max_connections a call waits for a connection instead of
        # failing (redis-py's default pool raises MaxConnectionsError at 100).
        pool = BlockingConnectionPool.from_url(
            REDIS_URL, max_connections=32, timeout=None, decode_responses=True
        )
        redis = Redis(connection_pool=pool)
        bus = RedisBus(redis, prefix=f"bench:{os.getpid()}:")

        async def close_redis(_: web.Application) -> AsyncIterator[None]:
            # Registered before the hub's context, so it closes after the hub.
            try:
                yield
            finally:
                await bus.close()
                keys = [k async for k in redis.scan_iter(match=f"bench:{os.getpid()}:*")]
                if keys:
                    await redis.delete(*keys)
                await redis.aclose()

        app.cleanup_ctx.append(close_redis)
    config = SignalingConfig(
        authorizer=OpenAuthorizer(),  # type: ignore[arg-type]
        allowed_origins=frozenset({ORIGIN}),
        limits=Limits(max_participants=4),
        heartbeat=None,
        bus=bus,
        # Short, so that `--slow` sees the buffers of departed participants go within seconds.
        resume_window=RESUME_WINDOW,
    )
    setup_signaling(app, config)
    trace_on_signal(app)
    print("READY", flush=True)
    # The loop `telehealth serve` uses.
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        print=None,
        access_log=None,
        loop=uvloop.new_event_loop(),
    )


def trace_on_signal(app: web.Application) -> None:
    """With BENCHMARK_TRACEMALLOC_DIR set (by `benchmarks.idle_memory`), trace allocations and
    write snapshot-N.pickle there on the N-th SIGUSR1 (then an empty snapshot-N.done)."""
    directory = os.environ.get("BENCHMARK_TRACEMALLOC_DIR")
    if not directory:
        return
    import gc
    import signal
    import tracemalloc

    tracemalloc.start(int(os.environ.get("BENCHMARK_TRACEMALLOC_FRAMES", "12")))
    taken = 0

    def take() -> None:
        nonlocal taken
        taken += 1
        gc.collect()
        path = Path(directory) / f"snapshot-{taken}.pickle"
        tracemalloc.take_snapshot().dump(str(path))
        path.with_suffix(".done").touch()

    async def on_startup(_: web.Application) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, take)

    app.on_startup.append(on_startup)


def raise_fd_limit() -> None:
    """Allow as many sockets as the hard limit permits."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_bytes(pid: int) -> int:
    """Resident memory of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class Server:
    """A server under test."""

    name: str
    process: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        """Terminate and reap."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# What the Dockerfile sets: large blocks from their own mappings, returned to the system on free.
PRODUCTION_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "32768"}


def start_ours(bus_kind: str = "memory", malloc_default: bool = False) -> Server:
    """Start our server in a subprocess, with the Dockerfile's malloc setting unless
    `malloc_default`."""
    port = free_port()
    env = dict(os.environ)
    if not malloc_default:
        env.update(PRODUCTION_MALLOC)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.signaling_relay",
            "--serve-ours",
            str(port),
            "--bus",
            bus_kind,
        ],
        cwd=HERE.parent,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    process.stdout.readline()
    wait_listening(port)
    return Server("ours", process, port)


def install_peerjs() -> Path:
    """npm-install the PeerJS server into benchmarks/.peerjs (git-ignored)."""
    binary = PEERJS_DIR / "node_modules" / ".bin" / "peerjs"
    if not binary.exists():
        PEERJS_DIR.mkdir(exist_ok=True)
        npm = shutil.which("npm") or "npm"
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(PEERJS_DIR), "peer@1"],
            check=True,
        )
    return binary


def start_peerjs() -> Server:
    """Start the PeerJS server in a subprocess."""
    binary = install_peerjs()
    port = free_port()
    process = subprocess.Popen(
        [
            str(binary),
            "--port",
            str(port),
            "--path",
            "/",
            "--key",
            "peerjs",
            "--concurrent_limit",
            "100000",
            "--alive_timeout",
            "600000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_listening(port)
    # node spawns the server in this process (no fork); its pid is ours to measure.
    return Server("peerjs", process, port)


def wait_listening(port: int) -> None:
    """Poll until the port accepts connections (bounded)."""
    for _ in range(400):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# --- client protocols ------------------------------------------------------------------------
class Client:
    """One benchmark connection to one of the two servers."""

    ws: aiohttp.ClientWebSocketResponse
    ident: str

    async def send_candidate(self, to: str, stamp: float) -> None:
        """Send one ICE-candidate-sized relay message."""
        raise NotImplementedError

    def stamp_of(self, raw: str) -> float | None:
        """The send time inside a relayed message, if it is one."""
        raise NotImplementedError

    async def acknowledge(self) -> None:
        """Acknowledge what was received, when the protocol asks for it."""


class OurClient(Client):
    """Speaks signaling v1."""

    def __init__(self) -> None:
        self.seq = 0
        self.received = 0
        self.ack_due = 0

    async def acknowledge(self) -> None:
        """Send the ack a real client would."""
        if self.ack_due:
            due, self.ack_due = self.ack_due, 0
            await self.ws.send_str(f'{{"type":"ack","ack":{due}}}')

    async def open(self, http: aiohttp.ClientSession, port: int, ticket: str) -> None:
        """hello, welcome, join; returns when admitted or waiting."""
        self.ws = await http.ws_connect(f"ws://127.0.0.1:{port}/signaling/v1", origin=ORIGIN)
        await self.ws.send_str(json.dumps({"v": 1, "type": "hello", "ticket": ticket}))
        welcome = json.loads((await self.ws.receive()).data)
        self.ident = welcome["participant"]
        await self.send({"type": "join"})

    async def settle(self) -> None:
        """Wait until joined as a host (`admitted`, then `lobby`) and acknowledge both, as
        docs/signaling.md asks of every client (within 100 ms): an idle connection then holds
        no unacknowledged frames, as a browser's does 50 ms after its burst."""
        await self.next_of("admitted")
        lobby = await self.next_of("lobby")
        await self.ws.send_str(f'{{"type":"ack","ack":{lobby["seq"]}}}')

    async def send(self, frame: dict[str, object]) -> None:
        """Send a session frame with the next seq."""
        self.seq += 1
        frame["seq"] = self.seq
        await self.ws.send_str(json.dumps(frame))

    async def next_of(self, kind: str) -> dict[str, object]:
        """Skip frames until one of a type."""
        while True:
            data = json.loads((await self.ws.receive()).data)
            if data.get("type") == kind:
                return data  # type: ignore[no-any-return]

    async def send_candidate(self, to: str, stamp: float) -> None:
        """Relay a candidate carrying the send time."""
        cand = {
            "candidate": CANDIDATE,
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "usernameFragment": repr(stamp),
        }
        await self.send({"type": "candidate", "to": to, "candidate": cand})

    def stamp_of(self, raw: str) -> float | None:
        """Send time of a relayed candidate; acks every 16 stream frames as a client would."""
        data = json.loads(raw)
        if data.get("type") != "candidate":
            return None
        self.received += 1
        if self.received % 16 == 0:
            self.ack_due = int(data["seq"])
        return float(data["candidate"]["usernameFragment"])


class PeerJsClient(Client):
    """Speaks the PeerJS server protocol."""

    async def open(self, http: aiohttp.ClientSession, port: int, ident: str) -> None:
        """Connect and wait for OPEN."""
        self.ident = ident
        self.ws = await http.ws_connect(
            f"ws://127.0.0.1:{port}/peerjs?key=peerjs&id={ident}&token=t{ident}", origin=ORIGIN
        )
        while json.loads((await self.ws.receive()).data).get("type") != "OPEN":
            pass

    async def send_candidate(self, to: str, stamp: float) -> None:
        """Relay a candidate carrying the send time."""
        payload = {
            "candidate": {"candidate": CANDIDATE, "sdpMid": "0", "sdpMLineIndex": 0},
            "type": "media",
            "connectionId": "mc_1",
            "stamp": stamp,
        }
        await self.ws.send_str(json.dumps({"type": "CANDIDATE", "dst": to, "payload": payload}))

    def stamp_of(self, raw: str) -> float | None:
        """Send time of a relayed candidate."""
        data = json.loads(raw)
        if data.get("type") != "CANDIDATE":
            return None
        return float(data["payload"]["stamp"])


# --- measurements ----------------------------------------------------------------------------
@dataclass
class Result:
    """Figures for one server."""

    name: str
    sent: int = 0
    relayed: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu_us_per_msg: float = 0.0
    mem_per_conn: float = 0.0
    hello_latencies: list[float] = field(default_factory=list)
    idle_mem_per_conn: float = 0.0
    idle_conns: int = 0

    def p(self, values: list[float], q: float) -> float:
        """A percentile in microseconds."""
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6


async def open_pairs(
    server: Server, http: aiohttp.ClientSession, pairs: int, tag: str, result: Result
) -> list[tuple[Client, Client]]:
    """Connect pairs (ours: host admits guest) and time hello-to-joined."""
    made: list[tuple[Client, Client]] = []
    for n in range(pairs):
        if server.name == "ours":
            host, guest = OurClient(), OurClient()
            started = time.perf_counter()
            await host.open(http, server.port, f"{tag}{n}:h{n}:host")
            await host.next_of("admitted")
            result.hello_latencies.append(time.perf_counter() - started)
            await guest.open(http, server.port, f"{tag}{n}:g{n}:guest")
            await guest.next_of("waiting")
            await host.send({"type": "admit", "participant": guest.ident})
            await guest.next_of("admitted")
            made.append((host, guest))
        else:
            a, b = PeerJsClient(), PeerJsClient()
            started = time.perf_counter()
            await a.open(http, server.port, f"{tag}a{n}")
            result.hello_latencies.append(time.perf_counter() - started)
            await b.open(http, server.port, f"{tag}b{n}")
            made.append((a, b))
    return made


async def drain(client: Client, result: Result, stop: asyncio.Event) -> None:
    """Receive relayed messages and record their latency."""
    while not stop.is_set():
        msg = await client.ws.receive()
        if msg.type is not aiohttp.WSMsgType.TEXT:
            return
        stamp = client.stamp_of(msg.data)
        if stamp is not None:
            result.latencies.append(time.perf_counter() - stamp)
            result.relayed += 1
            await client.acknowledge()


async def relay_load(
    server: Server, pairs: list[tuple[Client, Client]], rate: int, seconds: float, result: Result
) -> None:
    """Send `rate` messages per second spread over all pairs, for `seconds`."""
    stop = asyncio.Event()
    receivers = [asyncio.create_task(drain(b, result, stop)) for _, b in pairs]
    cpu_before = cpu_seconds(server.process.pid)
    ticks = int(seconds * 100)
    per_tick = rate / 100
    owed = 0.0
    index = 0
    started = time.perf_counter()
    for tick in range(ticks):
        owed += per_tick
        while owed >= 1:
            owed -= 1
            sender, receiver = pairs[index % len(pairs)]
            index += 1
            await sender.send_candidate(receiver.ident, time.perf_counter())
            result.sent += 1
        delay = started + (tick + 1) / 100 - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    for _ in range(200):  # let the tail arrive, bounded
        if result.relayed >= result.sent:
            break
        await asyncio.sleep(0.01)
    cpu_after = cpu_seconds(server.process.pid)
    stop.set()
    for task in receivers:
        task.cancel()
    await asyncio.gather(*receivers, return_exceptions=True)
    result.cpu_us_per_msg = (cpu_after - cpu_before) * 1e6 / max(result.relayed, 1)


async def idle_connections(server: Server, count: int, result: Result) -> None:
    """Open `count` idle, joined connections and measure the server's memory per connection."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        before = rss_bytes(server.process.pid)
        opened: list[Client] = []
        batch = 200
        try:
            for start in range(0, count, batch):
                clients: list[Awaitable[Client]] = []
                for n in range(start, min(count, start + batch)):
                    clients.append(_idle_one(server, http, n))
                opened.extend(await asyncio.gather(*clients))
            await asyncio.sleep(0.5)
            result.idle_conns = len(opened)
            result.idle_mem_per_conn = (rss_bytes(server.process.pid) - before) / max(
                len(opened), 1
            )
        finally:
            await asyncio.gather(*(c.ws.close() for c in opened), return_exceptions=True)


async def _idle_one(server: Server, http: aiohttp.ClientSession, n: int) -> Client:
    if server.name == "ours":
        client = OurClient()
        await client.open(http, server.port, f"idle{n}:i{n}:host")
        await client.settle()
        return client
    peer = PeerJsClient()
    await peer.open(http, server.port, f"idle{n}")
    return peer


async def measure(server: Server, args: argparse.Namespace, *, idle: bool) -> Result:
    """All measurements against one server."""
    result = Result(server.name)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        rss_before = rss_bytes(server.process.pid)
        pairs = await open_pairs(server, http, args.connections // 2, "r", result)
        result.mem_per_conn = (rss_bytes(server.process.pid) - rss_before) / (2 * len(pairs))
        await relay_load(server, pairs, args.rate, args.seconds, result)
        await asyncio.gather(
            *(c.ws.close() for pair in pairs for c in pair), return_exceptions=True
        )
    if args.idle and idle:
        await idle_connections(server, args.idle, result)
    return result


async def slow_consumers(args: argparse.Namespace) -> bool:
    """`--slow N`: N guests stop reading while their hosts send them 60 KB offers.

    Prints the server's RSS before, at its peak, and after they have gone, against the ceiling
    the limits promise: baseline + N x (send_queue_bytes + resume_buffer_bytes) + 64 MiB for
    the interpreter's own growth. Returns whether the peak stayed under it.
    """
    from signaling import Limits

    limits = Limits()
    server = start_ours(args.bus, malloc_default=args.malloc_default)
    pid = server.process.pid
    sdp = "v=0\r\n" + "a" * 59_000
    offers = args.slow_offers
    closed = 0
    peak = 0
    after: list[int] = []
    try:
        baseline = rss_bytes(pid)
        for _ in range(args.slow_waves):
            wave_closed, wave_peak = await _slow_wave(server, args.slow, offers, sdp)
            closed += wave_closed
            peak = max(peak, wave_peak)
            # Past the resume window the departed participants' buffers are dropped.
            await asyncio.sleep(RESUME_WINDOW + 3.0)
            after.append(rss_bytes(pid))
    finally:
        server.stop()
    ceiling = baseline + args.slow * (limits.send_queue_bytes + limits.resume_buffer_bytes)
    ceiling += 64 * 1024 * 1024
    mib = 1024 * 1024
    print(
        f"slow consumers: {args.slow} guests x {offers} offers of 59 KB, bus {args.bus}, "
        f"malloc {'glibc default' if args.malloc_default else 'as the Dockerfile sets it'}; "
        f"closed with 4008: {closed}"
    )
    print(
        f"server RSS MiB: baseline {baseline / mib:.1f}, peak {peak / mib:.1f}, "
        f"after they left {', '.join(f'{a / mib:.1f}' for a in after)}; "
        f"ceiling {ceiling / mib:.1f}"
    )
    slow: int = args.slow * args.slow_waves
    return peak <= ceiling and closed == slow


async def _slow_wave(server: Server, slow: int, offers: int, sdp: str) -> tuple[int, int]:
    """One wave of `slow` pairs: returns how many guests were closed with 4008, and the peak
    RSS seen."""
    pid = server.process.pid
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        result = Result("ours")
        pairs = await open_pairs(server, http, slow, "slow", result)
        peak = rss_bytes(pid)
        closed = 0
        for round_ in range(offers):
            for host, guest in pairs:
                # The guest never reads; the host sends it a large offer.
                assert isinstance(host, OurClient)
                await host.send({"type": "offer", "to": guest.ident, "sdp": f"{round_}{sdp}"})
            peak = max(peak, rss_bytes(pid))
        await asyncio.sleep(1.0)
        peak = max(peak, rss_bytes(pid))
        for _, guest in pairs:
            # Everything the guest was sent, up to the server's close.
            while True:
                msg = await guest.ws.receive()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    closed += msg.data == 4008
                    break
            peak = max(peak, rss_bytes(pid))
        await asyncio.gather(
            *(c.ws.close() for pair in pairs for c in pair), return_exceptions=True
        )
    return closed, peak


def _ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else float("nan")


# Figures compared as ours/PeerJS: (label, how to read it off a Result).
RATIOS: list[tuple[str, Callable[[Result], float]]] = [
    ("p50", lambda r: r.p(r.latencies, 0.5)),
    ("p99", lambda r: r.p(r.latencies, 0.99)),
    ("CPU/msg", lambda r: r.cpu_us_per_msg),
    ("mem/conn", lambda r: r.mem_per_conn),
    ("hello", lambda r: r.p(r.hello_latencies, 0.5)),
    ("idle mem/conn", lambda r: r.idle_mem_per_conn if r.idle_conns else float("nan")),
]


def report(rounds: list[list[Result]]) -> None:
    """Print each round's figures and ratios ours/PeerJS, then the medians over the rounds."""
    print(
        f"{'round':5} {'server':8} {'sent':>7} {'relayed':>8} {'p50 us':>9} {'p99 us':>9} "
        f"{'CPU us/msg':>11} {'B/conn':>9} {'hello p50 us':>13} {'idle B/conn':>12}"
    )
    for number, results in enumerate(rounds, 1):
        for r in results:
            print(
                f"{number:5d} {r.name:8} {r.sent:7d} {r.relayed:8d} {r.p(r.latencies, 0.5):9.0f} "
                f"{r.p(r.latencies, 0.99):9.0f} {r.cpu_us_per_msg:11.1f} {r.mem_per_conn:9.0f} "
                f"{r.p(r.hello_latencies, 0.5):13.0f} {r.idle_mem_per_conn:12.0f}"
                + (f"  (idle conns: {r.idle_conns})" if r.idle_conns else "")
            )
    if not rounds or any(len(results) != 2 for results in rounds):
        return
    per_round = {
        label: [_ratio(figure(ours), figure(theirs)) for ours, theirs in rounds]
        for label, figure in RATIOS
    }
    for number in range(len(rounds)):
        shown = ", ".join(
            f"{label} {values[number]:.2f}"
            for label, values in per_round.items()
            if not math.isnan(values[number])  # the idle pass runs in the first round only
        )
        print(f"round {number + 1} ratios ours/peerjs: {shown}")
    medians = ", ".join(
        f"{label} {statistics.median(finite):.2f}"
        for label, values in per_round.items()
        if (finite := [v for v in values if not math.isnan(v)])
    )
    print(f"median of {len(rounds)} rounds, ratios ours/peerjs: {medians}")


async def run(args: argparse.Namespace) -> list[list[Result]]:
    """Benchmark each server in turn (never both under load at once), for `args.rounds` rounds.

    The servers alternate which goes first, so a drift in the machine's load during a run
    favours neither; only the first round opens the idle connections.
    """
    starters: list[Callable[[], Server]] = [lambda: start_ours(args.bus)]
    if not args.tiny and not args.skip_peerjs:
        starters.append(start_peerjs)
    rounds: list[list[Result]] = []
    for number in range(args.rounds):
        order = starters if number % 2 == 0 else starters[::-1]
        results: dict[str, Result] = {}
        for starter in order:
            server = starter()
            try:
                results[server.name] = await measure(server, args, idle=number == 0)
            finally:
                server.stop()
        rounds.append([results[name] for name in ("ours", "peerjs") if name in results])
    return rounds


def main(argv: list[str] | None = None) -> int:
    """Parse flags and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve-ours", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=500, help="relay connections (pairs x2)")
    parser.add_argument("--rate", type=int, default=3000, help="relayed messages per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the relay phase")
    parser.add_argument("--idle", type=int, default=10_000, help="idle connections (0: skip)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of both servers; medians are reported"
    )
    parser.add_argument("--skip-peerjs", action="store_true", help="only our server")
    parser.add_argument("--tiny", action="store_true", help="ours only, a few connections, 1 s")
    parser.add_argument(
        "--bus",
        choices=("memory", "redis"),
        default="memory",
        help="our server's bus: in-process, or Redis at BENCHMARK_REDIS_URL (default local)",
    )
    parser.add_argument(
        "--slow",
        type=int,
        default=0,
        help="instead of the relay: N slow consumers of 60 KB offers, server memory figures",
    )
    parser.add_argument("--slow-offers", type=int, default=20, help="offers per slow consumer")
    parser.add_argument(
        "--malloc-default",
        action="store_true",
        help="run our server with glibc's default malloc settings, not the Dockerfile's",
    )
    parser.add_argument(
        "--slow-waves",
        type=int,
        default=1,
        help="repeat the slow consumers this many times (RSS after each wave is printed)",
    )
    args = parser.parse_args(argv)
    if args.serve_ours:
        serve_ours(args.serve_ours, args.bus)
        return 0
    if args.tiny:
        args.connections, args.rate, args.seconds, args.idle, args.rounds = 4, 50, 1.0, 10, 1
    raise_fd_limit()
    import uvloop

    if args.slow:
        return 0 if uvloop.run(slow_consumers(args)) else 1
    rounds = uvloop.run(run(args))
    report(rounds)
    ok = all(r.relayed == r.sent and r.sent > 0 for results in rounds for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
