"""Browser tests: the real server in its own process, driven by Playwright in Debian's Chromium.

Each test gets a fresh server (SQLite in a temporary folder, demo clinic loaded) on a free port,
and a Chromium with a fake camera and microphone. Chromium missing: skipped locally, failed in CI.
Screenshots go to test-artifacts/ (desktop and phone sizes); look at them.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.services import free_port, require_chromium, service_missing

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE_VERSION = "4.14.1"
AXE_DIR = ROOT / "tests" / "e2e" / ".axe"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@dataclass(frozen=True)
class LiveServer:
    """A running server process."""

    url: str
    env: dict[str, str]
    data_dir: Path


def _server_env(data_dir: Path, port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TELEHEALTH_") or k.startswith("TELEHEALTH_TEST_")
    }
    env = {k: v for k, v in env.items() if not k.startswith("TELEHEALTH_TEST_")}
    env.update(
        {
            "TELEHEALTH_ENV": "development",
            "TELEHEALTH_DATA_DIR": str(data_dir),
            "TELEHEALTH_HOST": "127.0.0.1",
            "TELEHEALTH_PORT": str(port),
            "TELEHEALTH_LOG_FORMAT": "text",
            "TELEHEALTH_LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class ServerProcess:
    """The process behind a LiveServer and its log file."""

    process: subprocess.Popen[bytes]
    log: Any

    def stop(self) -> None:
        """Stop the process and close its log."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        finally:
            self.log.close()


# A migrated database and secret key, made once per test run: each server copies it instead of
# migrating from nothing (a process start and every migration, per test).
_migrated: Path | None = None


def _migrated_template(env: dict[str, str]) -> Path:
    global _migrated
    if _migrated is None:
        folder = Path(tempfile.mkdtemp(prefix="telehealth-e2e-migrated-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "telehealth", "migrate"],
            env={**env, "TELEHEALTH_DATA_DIR": str(folder)},
            check=True,
            capture_output=True,
        )
        _migrated = folder
    return _migrated


async def _load_demo_clinic(env: dict[str, str]) -> None:
    # What `telehealth demo-data` does, in this process: one interpreter start fewer per test.
    from telehealth.clock import SystemClock
    from telehealth.config import Settings
    from telehealth.db import create_engine, create_session_factory
    from telehealth.demo import load_demo_data
    from telehealth.passwords import Passwords
    from telehealth.unit_of_work import Services

    settings = Settings.from_env(env).with_secret()
    engine = create_engine(settings)
    try:
        services = Services(
            settings, SystemClock(), create_session_factory(engine), Passwords(settings)
        )
        await load_demo_data(services)
    finally:
        await engine.dispose()


def _spawn(data_dir: Path, env: dict[str, str]) -> ServerProcess:
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed by ServerProcess.stop
    process = subprocess.Popen(
        [sys.executable, "-m", "telehealth", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    return ServerProcess(process, log)


async def start_server(
    data_dir: Path, extra_env: dict[str, str] | None = None
) -> tuple[LiveServer, ServerProcess]:
    """Migrate, load the demo clinic and serve; wait until /readyz answers."""
    port = free_port()
    env = _server_env(data_dir, port, extra_env)
    await asyncio.to_thread(shutil.copytree, _migrated_template(env), data_dir, dirs_exist_ok=True)
    await _load_demo_clinic(env)
    running = await asyncio.to_thread(_spawn, data_dir, env)
    process = running.process
    url = f"http://127.0.0.1:{port}"
    import aiohttp

    # Start-up (imports, catalog, migrations done earlier) takes well under a second on a quiet
    # machine; the bound is generous because a loaded 2-core machine can take many times that.
    deadline = asyncio.get_running_loop().time() + 90
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            if process.poll() is not None:
                running.stop()
                raise RuntimeError(
                    f"server exited: {(data_dir / 'server.log').read_text()[-2000:]}"
                )
            try:
                async with http.get(url + "/readyz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        else:
            running.stop()
            raise RuntimeError("server did not become ready")
    return LiveServer(url, env, data_dir), running


@pytest.fixture
async def live_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The real server with the demo clinic, in its own process."""
    server, running = await start_server(tmp_path)
    try:
        yield server
    finally:
        running.stop()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium (skip locally / fail in CI when missing)."""
    return require_chromium()


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    """A headless Chromium with fake media devices."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The axe-core script (npm package), installed once into tests/e2e/.axe."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            service_missing("npm", "needed once to install axe-core for the accessibility checks")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        (AXE_DIR / "package.json").write_text(json.dumps({"private": True}))
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent", f"axe-core@{AXE_VERSION}"],
            cwd=AXE_DIR,
            check=True,
            capture_output=True,
        )
    return script.read_text()


async def axe_violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page (the CSP forbids inline script, so the
    script is evaluated through the DevTools protocol, which CSP does not govern)."""
    await page.evaluate(axe_source)
    result = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]


def describe(violations: list[dict[str, Any]]) -> str:
    """Readable violation list for assertion messages."""
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
    )


async def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def sign_in(page: Any, base_url: str, email: str, password: str) -> None:
    """Sign in through the real login form."""
    await page.goto(base_url + "/login")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(base_url + "/")


@pytest.fixture
def artifacts() -> Iterator[Path]:
    """The folder screenshots are saved in."""
    ARTIFACTS.mkdir(exist_ok=True)
    yield ARTIFACTS


# --- people and the video visit, shared by the browser tests ---------------------------------------

MARIA = ("maria.lopez@demo.clinic", "demo-patient-pass")
DANA = ("dana.reyes@demo.clinic", "demo-therapist-pass")


async def assert_in_viewport(locator: Any, viewport: dict[str, int]) -> None:
    """The control is on screen horizontally once scrolled to: reachable without sideways
    scrolling."""
    await locator.scroll_into_view_if_needed()
    box = await locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box


async def assert_accessible(page: Any, axe_source: str) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    violations = await axe_violations(page, axe_source)
    assert not violations, describe(violations)


async def open_patient(
    browser: Any, server: LiveServer, viewport: dict[str, int] = PHONE
) -> tuple[Any, Any, str]:
    """Maria signs in and opens her visit from the home page; returns (context, page, visit url)."""
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, server.url, *MARIA)
    join = page.get_by_role("link", name="Join video visit")
    await join.wait_for()
    await join.click()
    await page.wait_for_url(re.compile(r".*/visits/[0-9a-f-]{36}(\?.*)?$"))
    return context, page, page.url


async def precall_and_wait(page: Any, axe_source: str | None = None, tag: str = "") -> None:
    """Pass the pre-call check (camera, microphone, network), consent, reach the waiting room."""
    await page.wait_for_selector('#camera-result[data-state="pass"]')
    await page.get_by_role("button", name="Test my connection").click()
    await page.wait_for_selector('#network-result:not([data-state="pending"])', timeout=60_000)
    if tag:
        await screenshot(page, f"visit-precall-{tag}")
    if axe_source:
        await assert_accessible(page, axe_source)
    await page.get_by_role("button", name="Continue").click()
    consent = page.get_by_role("heading", name="Consent to physical therapy by video")
    if await consent.is_visible():
        if tag:
            await screenshot(page, f"visit-consent-{tag}")
        if axe_source:
            await assert_accessible(page, axe_source)
        await page.get_by_label("I have read this and I agree to a video visit.").check()
        await page.get_by_role("button", name="Agree and continue").click()
    await page.get_by_role("heading", name="You are in the waiting room").wait_for()


async def waiting_patient(
    browser: Any, server: LiveServer, viewport: dict[str, int]
) -> tuple[Any, Any, str]:
    """Maria joins her visit and waits in the waiting room: the visit has started (checked in),
    which is when its note may be signed."""
    context, page, url = await open_patient(browser, server, viewport)
    await precall_and_wait(page)
    return context, page, url.split("?")[0].rstrip("/").split("/")[-1]


async def open_therapist(
    browser: Any, server: LiveServer, visit_url: str, viewport: dict[str, int] = DESKTOP
) -> tuple[Any, Any]:
    """Dana signs in and opens the same visit, passing her own quick check."""
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await sign_in(page, server.url, *DANA)
    await page.goto(visit_url)
    await page.wait_for_selector('#camera-result[data-state="pass"]')
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_selector("#step-call:not([hidden])")
    return context, page


async def video_flowing(page: Any) -> None:
    """The remote video has a size and its frames advance; DTLS is connected; bytes flow both ways."""
    await page.wait_for_function(
        "() => { const v = document.getElementById('remote-video'); return v.videoWidth > 0 && v.currentTime > 0; }",
        timeout=60_000,
    )
    first = await page.evaluate("document.getElementById('remote-video').currentTime")
    await page.wait_for_function(
        f"() => document.getElementById('remote-video').currentTime > {first} + 0.5"
    )
    diagnostics = await page.evaluate("window.visitDiagnostics()")
    assert diagnostics, "no peer connection"
    assert diagnostics[0]["dtls"] == "connected"
    assert diagnostics[0]["bytesSent"] > 0 and diagnostics[0]["bytesReceived"] > 0
    assert diagnostics[0]["framesDecoded"] > 0


async def admit(therapist: Any) -> None:
    """The therapist admits the waiting patient from the lobby."""
    admit_button = therapist.get_by_role("button", name="Admit Maria Lopez")
    await admit_button.wait_for(timeout=30_000)
    await admit_button.click()
