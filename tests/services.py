"""Where the external services of the test suite are, and what to do when one is missing.

Locally a missing PostgreSQL, Redis, coturn or Chromium skips its tests with a visible reason;
with TELEHEALTH_TEST_REQUIRE_SERVICES=1 (set by .ci/run) the same absence fails the run instead,
so CI can never go green by skipping the real components.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

POSTGRES_URL = os.environ.get(
    "TELEHEALTH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TELEHEALTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM_PATH = os.environ.get("TELEHEALTH_TEST_CHROMIUM", "/usr/bin/chromium")
TURNSERVER_PATH = os.environ.get("TELEHEALTH_TEST_TURNSERVER", "turnserver")


def services_required() -> bool:
    """True when missing services must fail the run (CI)."""
    return os.environ.get("TELEHEALTH_TEST_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def service_missing(name: str, reason: str) -> NoReturn:
    """Skip (locally) or fail (CI) because an external service is not available."""
    message = f"{name} unavailable: {reason}"
    if services_required():
        pytest.fail(message + " (TELEHEALTH_TEST_REQUIRE_SERVICES is set)", pytrace=False)
    pytest.skip(message)


def tcp_reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_chromium() -> str:
    """Return the Chromium executable path or skip/fail."""
    if os.path.exists(CHROMIUM_PATH):
        return CHROMIUM_PATH
    found = shutil.which("chromium")
    if found:
        return found
    service_missing("Chromium", f"{CHROMIUM_PATH} not found (apt-get install chromium)")


def require_turnserver() -> str:
    """Return the coturn executable path or skip/fail."""
    found = shutil.which(TURNSERVER_PATH)
    if found:
        return found
    service_missing("coturn", "turnserver not found (apt-get install coturn)")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_coturn(secret: str, realm: str = "clinic.test") -> Iterator[str]:
    """A real coturn on loopback with use-auth-secret; yields its turn: URL and stops it after.

    allow-loopback-peers is for tests only: production denies loopback and private peers.
    """
    binary = require_turnserver()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "turnserver.conf"
        conf.write_text(
            "\n".join(
                [
                    f"listening-port={port}",
                    "listening-ip=127.0.0.1",
                    "relay-ip=127.0.0.1",
                    "use-auth-secret",
                    f"static-auth-secret={secret}",
                    f"realm={realm}",
                    "allow-loopback-peers",
                    "no-tls",
                    "no-dtls",
                    "no-cli",
                    "no-multicast-peers",
                    f"pidfile={tmp}/turn.pid",
                    f"log-file={tmp}/turn.log",
                    "min-port=49160",
                    "max-port=49400",
                ]
            )
            + "\n"
        )
        process = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(200):
                if tcp_reachable("127.0.0.1", port, timeout=0.1) or process.poll() is not None:
                    break
                time.sleep(0.05)
            if process.poll() is not None:
                raise RuntimeError("turnserver exited at start")
            yield f"turn:127.0.0.1:{port}?transport=udp"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- a private PostgreSQL server -----------------------------------------------------------------

POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def _postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin folder (initdb, postgres), if any."""
    override = os.environ.get("TELEHEALTH_TEST_POSTGRES_BIN")
    if override:
        return Path(override)
    found = sorted(Path("/").glob(POSTGRES_BIN_GLOB.lstrip("/")), key=lambda p: p.parent.name)
    on_path = shutil.which("initdb")
    if not found and on_path:
        return Path(on_path).parent
    return found[-1] if found else None


class PrivatePostgres:
    """A PostgreSQL server of the test's own (initdb into a temporary folder, a free port).

    Tests that freeze or stop the database use it, never the shared server. PostgreSQL refuses to
    run as root, so under root the server runs as the `postgres` account (which owns the folder).
    freeze() sends SIGSTOP to the postmaster and every backend, as a hung host would look.
    """

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._user: str | None = None
        if os.geteuid() == 0:
            import pwd

            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no postgres account") from None
            self._user = "postgres"
            shutil.chown(root, user="postgres", group=None)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its `postgres` database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            args, check=True, capture_output=True, user=self._user, cwd=self.root, timeout=120
        )

    def init(self) -> None:
        """initdb with trust authentication for local connections only."""
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        """Start the postmaster and wait until it accepts connections."""
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                str(self.bin_dir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.root}",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=60",
            ],
            stdout=log,
            stderr=log,
            user=self._user,
            cwd=self.root,
            start_new_session=True,  # a Ctrl-C of the test run does not hit the server mid-test
        )
        log.close()
        for _ in range(600):
            if self.process.poll() is not None:
                raise RuntimeError(
                    "postgres exited at start: "
                    + (self.root / "server.log").read_text(errors="replace")[-2000:]
                )
            ready = subprocess.run(
                [str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("postgres did not become ready")

    def _children(self) -> list[int]:
        # Backends call setsid(), so the postmaster's process group does not reach them: find
        # them by parent pid.
        assert self.process is not None
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def freeze(self) -> None:
        """SIGSTOP the postmaster (first: it then forks nothing new) and every backend."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        for pid in self._children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT what freeze stopped."""
        assert self.process is not None
        for pid in self._children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Fast shutdown (SIGINT): open sessions are ended, then the server exits."""
        process, self.process = self.process, None
        if process is None:
            return
        self.process = process
        with contextlib.suppress(ProcessLookupError):
            self.thaw()
        self.process = None
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private PostgreSQL server, stopped and removed afterwards; skip/fail if none."""
    bin_dir = _postgres_bin()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        service_missing("private PostgreSQL", f"no initdb under {POSTGRES_BIN_GLOB}")
    with tempfile.TemporaryDirectory(prefix="telehealth-pg-") as tmp:
        try:
            server = PrivatePostgres(bin_dir, Path(tmp))
            server.init()
            server.start()
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            service_missing(
                "private PostgreSQL",
                f"{type(exc).__name__}: {exc} {detail.decode(errors='replace')[-500:]}",
            )
        try:
            yield server
        finally:
            server.stop()
