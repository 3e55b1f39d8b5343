"""The scheduling benchmark still runs (tiny size, SQLite and PostgreSQL), so it cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import POSTGRES_URL, service_missing, tcp_reachable

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_benchmark_tiny_run(engine: str) -> None:
    if engine == "postgresql" and not tcp_reachable("127.0.0.1", 5432):
        service_missing("PostgreSQL", f"nothing listens for {POSTGRES_URL}")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.scheduling", "--tiny", "--engine", engine],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "slot search, one therapist" in result.stdout
    assert "bookings/s" in result.stdout
    assert "overlapping-slot race" in result.stdout
    assert "same-patient race" in result.stdout
