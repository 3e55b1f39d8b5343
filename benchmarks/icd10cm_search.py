"""Code-set benchmark: loading the ICD-10-CM index, and diagnosis search against a plain scan.

Measured in this process, on the shipped code set (simple-icd-10-cm):

* load: importing the package (it parses the CDC tabular XML) and building the word index, as
  the app does once at start-up in a worker thread;
* search latency per query (median and 95th percentile over ``--repeat`` runs) of
  ``CodeSet.search`` and of the catalog-first ``search_diagnoses`` the API answers with, against
  the peer a hand-written picker would use: a scan of every title for the query's words.

    .venv/bin/python -m benchmarks.icd10cm_search
    .venv/bin/python -m benchmarks.icd10cm_search --repeat 20
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable

from telehealth.catalog.diagnoses import search_diagnoses
from telehealth.catalog.icd10cm import load_code_set
from telehealth.catalog.loader import load_catalog

QUERIES = (
    "M54.5",
    "s83.5",
    "knee",
    "right knee pain",
    "rotator cuff tear left",
    "lumbar disc degeneration",
    "frozen shoulder",
    "pa",
)


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return statistics.median(samples) * 1000, p95 * 1000


def main() -> None:
    """Print load time and per-query latency, with the ratio to a full scan."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    started = time.perf_counter()
    codes = load_code_set()
    loaded = time.perf_counter() - started
    catalog = load_catalog(codes=codes)
    print(f"code set: {codes.edition}, {len(codes)} codes")
    print(f"load (import + parse tabular + index): {loaded:.2f} s")

    titles = [(hit.code, hit.description.lower()) for hit in codes.every_code()]

    def scan(query: str) -> list[str]:
        words = query.lower().split()
        return [c for c, d in titles if all(w in d for w in words)][:20]

    print(
        f"{'query':<28}{'index ms (p50/p95)':>22}{'api ms (p50/p95)':>20}{'scan ms':>10}{'ratio':>8}"
    )
    for query in QUERIES:
        index_p50, index_p95 = _timed(functools.partial(codes.search, query, 20), args.repeat)
        api_p50, api_p95 = _timed(
            functools.partial(search_diagnoses, catalog, query, 20), args.repeat
        )
        scan_p50, _ = _timed(functools.partial(scan, query), max(3, args.repeat // 10))
        ratio = scan_p50 / index_p50 if index_p50 else float("inf")
        print(
            f"{query!r:<28}{index_p50:>11.2f} /{index_p95:>8.2f}"
            f"{api_p50:>11.2f} /{api_p95:>6.2f}{scan_p50:>10.1f}{ratio:>7.0f}x"
        )


if __name__ == "__main__":
    main()
