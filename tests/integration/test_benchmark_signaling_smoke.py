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
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("ours"))
    sent, relayed = line.split()[1:3]
    assert int(sent) > 0 and sent == relayed
