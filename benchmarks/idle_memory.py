"""Where the memory of idle signaling connections goes.

    .venv/bin/python -m benchmarks.idle_memory --idle 10000            # RSS, then tracemalloc
    .venv/bin/python -m benchmarks.idle_memory --idle 2000 --bus redis
    .venv/bin/python -m benchmarks.idle_memory --idle 10000 --bare     # aiohttp alone

Opens `--idle` joined, idle connections to our server (each the host of its own room, as the
idle pass of `signaling_relay` does) twice, each time on a fresh server process:

* plain: the server's VmRSS before and after, per connection (the figure `signaling_relay`
  reports);
* traced: the server runs under tracemalloc (`--frames` frames per traceback) and writes a
  snapshot before and after; the script prints the growth per connection grouped by traceback
  (`--top` entries), and by file.

`--bare` runs the same passes against a bare aiohttp WebSocket handler (same frames on the
wire, nothing kept per connection but what aiohttp keeps): the floor for any server on aiohttp.

tracemalloc counts Python allocations only (not uvloop's or the kernel's buffers) and adds its
own bookkeeping to RSS, which is why the RSS figure comes from the plain run.
"""

from __future__ import annotations

import argparse
import asyncio
import linecache
import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import aiohttp

from benchmarks.signaling_relay import (
    HERE,
    Client,
    OurClient,
    free_port,
    raise_fd_limit,
    rss_bytes,
    wait_listening,
)

# Set in the server's environment: a directory; on SIGUSR1 the server writes the next
# snapshot there (see `signaling_relay.serve_ours`).
SNAPSHOT_ENV = "BENCHMARK_TRACEMALLOC_DIR"
FRAMES_ENV = "BENCHMARK_TRACEMALLOC_FRAMES"


def serve_bare(port: int) -> None:
    """The floor: aiohttp's WebSocket alone, answering the client's hello and join the way
    our server does (the same frame types on the wire), then reading until the socket closes."""
    import uvloop
    from aiohttp import WSMsgType, web

    from benchmarks.signaling_relay import trace_on_signal

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        # Per client frame: hello, join (a host is sent `admitted` and `lobby`), the ack.
        replies = [
            ['{"type":"welcome","participant":"p"}'],
            ['{"type":"admitted","seq":1}', '{"type":"lobby","seq":2,"waiting":[]}'],
        ]
        while True:
            msg = await ws.receive()
            if msg.type is not WSMsgType.TEXT:
                return ws
            if replies:
                for reply in replies.pop(0):
                    await ws.send_str(reply)

    raise_fd_limit()
    app = web.Application()
    app.router.add_get("/signaling/v1", handle)
    trace_on_signal(app)
    print("READY", flush=True)
    web.run_app(
        app, host="127.0.0.1", port=port, print=None, access_log=None, loop=uvloop.new_event_loop()
    )


def start_server(
    bus: str, snapshots: Path | None, frames: int, bare: bool = False
) -> tuple[subprocess.Popen[bytes], int]:
    """Our server (or the bare floor) in a subprocess, traced when `snapshots` is given."""
    port = free_port()
    env = dict(os.environ)
    if snapshots is not None:
        env[SNAPSHOT_ENV] = str(snapshots)
        env[FRAMES_ENV] = str(frames)
    command = ["--serve-bare", str(port)] if bare else ["--serve-ours", str(port), "--bus", bus]
    module = "benchmarks.idle_memory" if bare else "benchmarks.signaling_relay"
    process = subprocess.Popen(
        [sys.executable, "-m", module, *command],
        cwd=HERE.parent,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    process.stdout.readline()
    wait_listening(port)
    return process, port


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate and reap."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def snapshot(
    process: subprocess.Popen[bytes], directory: Path, number: int
) -> tracemalloc.Snapshot:
    """Ask the server for its next snapshot and load it (bounded wait)."""
    path = directory / f"snapshot-{number}.pickle"
    process.send_signal(signal.SIGUSR1)
    done = path.with_suffix(".done")
    for _ in range(1200):
        if done.exists():
            return tracemalloc.Snapshot.load(str(path))
        time.sleep(0.1)
    raise RuntimeError("the server wrote no snapshot")


async def open_idle(port: int, count: int, http: aiohttp.ClientSession) -> list[Client]:
    """`count` joined, idle hosts, 200 at a time."""
    opened: list[Client] = []

    async def one(n: int) -> Client:
        client = OurClient()
        await client.open(http, port, f"idle{n}:i{n}:host")
        await client.settle()
        return client

    for start in range(0, count, 200):
        opened.extend(
            await asyncio.gather(*(one(n) for n in range(start, min(count, start + 200))))
        )
    return opened


async def plain_run(args: argparse.Namespace) -> float:
    """RSS growth per idle connection on an untraced server."""
    process, port = start_server(args.bus, None, 0, args.bare)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            await asyncio.sleep(0.5)
            before = rss_bytes(process.pid)
            opened = await open_idle(port, args.idle, http)
            await asyncio.sleep(1.0)
            after = rss_bytes(process.pid)
            await asyncio.gather(*(c.ws.close() for c in opened), return_exceptions=True)
    finally:
        stop(process)
    idle: int = args.idle
    return (after - before) / idle


async def traced_run(args: argparse.Namespace) -> None:
    """Print what the server allocated for the idle connections, by traceback and by file."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        process, port = start_server(args.bus, directory, args.frames, args.bare)
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                await asyncio.sleep(0.5)
                first = await asyncio.to_thread(snapshot, process, directory, 1)
                opened = await open_idle(port, args.idle, http)
                await asyncio.sleep(1.0)
                second = await asyncio.to_thread(snapshot, process, directory, 2)
                await asyncio.gather(*(c.ws.close() for c in opened), return_exceptions=True)
        finally:
            stop(process)
    ignore = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, linecache.__file__),
    ]
    first = first.filter_traces(ignore)
    second = second.filter_traces(ignore)
    n = args.idle
    by_file = second.compare_to(first, "filename")
    total = sum(stat.size_diff for stat in by_file)
    print(f"traced Python allocations: {total / n:.0f} B per idle connection ({n} connections)")
    print("\nby file (B per connection, blocks per connection):")
    for stat in by_file[: args.top]:
        frame = stat.traceback[0]
        print(f"  {stat.size_diff / n:8.0f} {stat.count_diff / n:6.1f}  {short(frame.filename)}")
    print("\nby line (B per connection, blocks per connection):")
    for stat in second.compare_to(first, "lineno")[: args.top]:
        frame = stat.traceback[0]
        print(
            f"  {stat.size_diff / n:8.0f} {stat.count_diff / n:6.1f}  "
            f"{short(frame.filename)}:{frame.lineno}"
        )
    print(f"\ntop {args.top} by traceback (innermost frame last):")
    for stat in second.compare_to(first, "traceback")[: args.top]:
        print(f"\n  {stat.size_diff / n:8.0f} B {stat.count_diff / n:6.2f} blocks per connection")
        for line in stat.traceback.format(limit=args.shown, most_recent_first=False):
            print(f"    {short(line)}")


def short(filename: str) -> str:
    """A path relative to the repository or the virtual environment."""
    return filename.replace(str(Path(sys.prefix)), "<venv>").replace(str(HERE.parent), "<repo>")


def main(argv: list[str] | None = None) -> int:
    """Parse flags and run both passes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle", type=int, default=2000, help="idle connections")
    parser.add_argument("--bus", choices=("memory", "redis"), default="memory")
    parser.add_argument("--frames", type=int, default=12, help="frames per traceback")
    parser.add_argument("--shown", type=int, default=4, help="innermost frames printed")
    parser.add_argument("--top", type=int, default=20, help="entries printed")
    parser.add_argument("--no-trace", action="store_true", help="only the RSS figure")
    parser.add_argument(
        "--bare", action="store_true", help="aiohttp's WebSocket alone, without our server"
    )
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    raise_fd_limit()
    import uvloop

    per_conn = uvloop.run(plain_run(args))
    server = "bare aiohttp" if args.bare else f"ours, bus {args.bus}"
    print(f"RSS: {per_conn:.0f} B per idle connection ({args.idle} connections, {server})")
    if not args.no_trace:
        uvloop.run(traced_run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
