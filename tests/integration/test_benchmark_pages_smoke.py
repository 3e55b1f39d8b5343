"""The pages benchmark still runs (tiny mode: SQLite, one connection), so it cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_pages_tiny_run() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.pages", "--tiny"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {
        line.split()[0]: line
        for line in result.stdout.splitlines()
        if re.match(r"^/\S* c=1 ", line)
    }
    # Every page was served to the signed-in person, without an error, beside its floor.
    assert rows.keys() == {"/", "/book", "/agenda", "/visits/{id}/note"}, result.stdout
    for line in rows.values():
        assert "errors 0" in line and "| floor" in line, line
