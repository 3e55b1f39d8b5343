"""The pages benchmark still runs (tiny mode: SQLite, one connection), so it cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = {"/", "/book", "/agenda", "/visits/{id}/note"}


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
    lines = result.stdout.splitlines()
    rows = {line.split()[0]: line for line in lines if re.match(r"^/\S* c=1 ", line)}
    # Every page was served to the signed-in person, without an error, by ours and by the
    # raw-driver floor, beside the static floor.
    assert rows.keys() == PAGES, result.stdout
    for line in rows.values():
        assert re.search(r" ours [^|]* errors 0 [^|]*\| floor [^|]* errors 0 [^|]*\|", line), line
        assert "| static" in line, line
    # The floor answered 200 with a page of its own on each path (the script refuses anything
    # else), the size of ours: the same template rendered from the same rows.
    sizes = {
        found[1]: (int(found[2]), int(found[3]))
        for line in lines
        if (found := re.match(r"^size (\S+) ours (\d+) B floor (\d+) B", line))
    }
    assert sizes.keys() == PAGES, result.stdout
    for ours, floor in sizes.values():
        assert floor > 1000 and abs(floor - ours) < 0.05 * ours, sizes
    assert "targets (SQLite): not measured" in result.stdout
