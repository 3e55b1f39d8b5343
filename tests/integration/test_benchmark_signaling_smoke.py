"""The signaling relay benchmark still runs (tiny mode: our server only, about a second)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_tiny_benchmark_relays_every_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.signaling_relay", "--tiny"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # "round server sent relayed ...": the one round of our server.
    rows = [ln.split() for ln in done.stdout.splitlines()]
    row = next(r for r in rows if r[:2] == ["1", "ours"])
    sent, relayed = row[2:4]
    assert int(sent) > 0 and sent == relayed
