"""A test that hangs fails, with the stacks of what it waits on, instead of stalling the run.

Each phase of a test (setup, call, teardown) gets `TELEHEALTH_TEST_PHASE_SECONDS` (300 s by
default: the slowest browser test takes a fraction of that). When a phase runs over, the alarm
prints every asyncio task's stack and every thread's, then raises in the main thread, which
unwinds the event loop the phase was waiting in. The run goes on with the next test, and the
report says where the time went. No wall-clock limit on behaviour: only a hang trips it.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import gc
import inspect
import os
import signal
import sys
from collections.abc import Generator, Iterator
from types import FrameType

import pytest

PHASE_SECONDS = float(os.environ.get("TELEHEALTH_TEST_PHASE_SECONDS", "300"))


class PhaseHung(Exception):
    """A test phase ran past the watchdog's limit."""


def _dump_tasks() -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        print("watchdog: no event loop running in the main thread", file=sys.stderr)
        return
    for task in asyncio.all_tasks(loop):
        print(f"watchdog: task {task.get_name()} {task!r}", file=sys.stderr)
        task.print_stack(file=sys.stderr)
        _print_await_chain(task.get_coro())
    # An async generator's step (a fixture's teardown) hides its frame from the task's
    # coroutine chain: find the running ones and follow them too.
    for obj in gc.get_objects():
        if inspect.isasyncgen(obj) and obj.ag_running:
            print(f"watchdog: async generator {obj.__qualname__}", file=sys.stderr)
            _print_await_chain(obj)


def _print_await_chain(awaitable: object) -> None:
    """A task's stack stops at its own coroutine; follow what each frame awaits (coroutines,
    async generators, generator-based awaitables) down to the innermost wait."""
    seen = 0
    while awaitable is not None and seen < 200:
        seen += 1
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "ag_frame", None)
        frame = frame or getattr(awaitable, "gi_frame", None)
        if frame is not None:
            code = frame.f_code
            print(
                f"  awaits {code.co_filename}:{frame.f_lineno} in {code.co_name}", file=sys.stderr
            )
        awaitable = (
            getattr(awaitable, "cr_await", None)
            or getattr(awaitable, "ag_await", None)
            or getattr(awaitable, "gi_yieldfrom", None)
        )


@contextlib.contextmanager
def _guarded(where: str) -> Iterator[None]:
    def alarm(_signum: int, _frame: FrameType | None) -> None:
        print(f"\nwatchdog: {where} still running after {PHASE_SECONDS:.0f} s", file=sys.stderr)
        _dump_tasks()
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        raise PhaseHung(f"{where} ran past {PHASE_SECONDS:.0f} s; stacks are on stderr")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, PHASE_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with _guarded(f"setup of {item.nodeid}"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with _guarded(item.nodeid):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    with _guarded(f"teardown of {item.nodeid}"):
        return (yield)
