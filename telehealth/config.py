"""Settings: the one reader of TELEHEALTH_* environment variables, with embedded defaults.

Every setting is declared once in SETTINGS below (name, default, meaning); the README table and the
docker-compose check are derived from that declaration, so a setting cannot exist undocumented.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PREFIX = "TELEHEALTH_"
ENVIRONMENTS = ("development", "test", "production")
# OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1.
OWASP_ARGON2_MEMORY_KIB = 19_456
OWASP_ARGON2_TIME_COST = 2


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and what is wrong."""


@dataclass(frozen=True)
class SettingSpec:
    """One documented environment variable."""

    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = str


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"expected a positive whole number, got {raw!r}")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError(f"expected a TCP port 1-65535, got {raw!r}")
    return value


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _zone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {raw!r}") from exc
    return raw


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
        return raw

    return parse


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "ENV",
        "development",
        "development, test or production; production refuses demo data and requires a secret key and https public URL",
        _choice(*ENVIRONMENTS),
    ),
    SettingSpec("HOST", "127.0.0.1", "address the HTTP server listens on"),
    SettingSpec("PORT", "8080", "port the HTTP server listens on", _port),
    SettingSpec(
        "PUBLIC_URL",
        "",
        "the URL people use, e.g. https://clinic.example; https turns on Secure __Host- cookies and HSTS (default http://HOST:PORT)",
    ),
    SettingSpec(
        "DATA_DIR", "data", "folder for the embedded SQLite database and the development secret key"
    ),
    SettingSpec(
        "DATABASE_URL",
        "",
        "SQLAlchemy async URL; empty = SQLite in DATA_DIR; postgresql+asyncpg://user:pass@host/db for PostgreSQL",
    ),
    SettingSpec(
        "SECRET_KEY",
        "",
        "at least 32 characters; signs tickets and feed URLs; generated into DATA_DIR outside production",
    ),
    SettingSpec(
        "REDIS_URL",
        "",
        "redis://host:6379/0 to share signaling between instances; empty = in-process",
    ),
    SettingSpec(
        "SESSION_IDLE_MINUTES",
        "15",
        "sign out after this many minutes without a request",
        _positive_int,
    ),
    SettingSpec(
        "SESSION_ABSOLUTE_HOURS",
        "12",
        "sign out this many hours after login, active or not",
        _positive_int,
    ),
    SettingSpec(
        "LOGIN_MAX_FAILURES",
        "5",
        "failed logins per account before it is locked for LOGIN_LOCKOUT_MINUTES",
        _positive_int,
    ),
    SettingSpec(
        "LOGIN_MAX_FAILURES_PER_ADDRESS",
        "20",
        "failed logins per client address before that address is paused",
        _positive_int,
    ),
    SettingSpec(
        "LOGIN_LOCKOUT_MINUTES",
        "15",
        "length of the failure window and of the lockout",
        _positive_int,
    ),
    SettingSpec("SELF_REGISTRATION", "false", "let patients create their own account", _bool),
    SettingSpec("MAX_BODY_BYTES", "1048576", "largest request body accepted", _positive_int),
    SettingSpec(
        "ARGON2_TIME_COST",
        str(OWASP_ARGON2_TIME_COST),
        "argon2id iterations (at least OWASP's 2)",
        _positive_int,
    ),
    SettingSpec(
        "ARGON2_MEMORY_KIB",
        str(OWASP_ARGON2_MEMORY_KIB),
        "argon2id memory in KiB (at least OWASP's 19456)",
        _positive_int,
    ),
    SettingSpec("ARGON2_PARALLELISM", "1", "argon2id lanes", _positive_int),
    SettingSpec(
        "TRUST_FORWARDED_FOR",
        "false",
        "take the client address from X-Forwarded-For (only behind the reverse proxy)",
        _bool,
    ),
    SettingSpec(
        "ALLOWED_ORIGINS",
        "",
        "extra origins allowed to open the visit WebSocket (comma separated); PUBLIC_URL is always allowed",
    ),
    SettingSpec("CLINIC_NAME", "Armor Physical Therapy", "name shown on pages"),
    SettingSpec(
        "CLINIC_TIME_ZONE",
        "America/New_York",
        "IANA zone of the clinic, used where a person has none",
        _zone,
    ),
    SettingSpec(
        "TURN_URLS",
        "",
        "comma separated TURN URLs handed to visit participants, e.g. turn:turn.example:3478",
    ),
    SettingSpec(
        "TURN_SECRET", "", "coturn static-auth-secret used to mint per-visit TURN credentials"
    ),
    SettingSpec("STUN_URLS", "", "comma separated STUN URLs for visit participants"),
    SettingSpec("NOTES_READABLE_BY_ADMINS", "false", "let admins read clinical notes", _bool),
    SettingSpec(
        "NOTES_READABLE_BY_CARE_TEAM",
        "false",
        "let every therapist on a patient's care team read that patient's notes",
        _bool,
    ),
    SettingSpec(
        "LOG_LEVEL",
        "INFO",
        "DEBUG, INFO, WARNING or ERROR",
        _choice("DEBUG", "INFO", "WARNING", "ERROR"),
    ),
    SettingSpec("LOG_FORMAT", "json", "json (one object a line) or text", _choice("json", "text")),
)

KNOWN_VARIABLES = frozenset(PREFIX + spec.name for spec in SETTINGS)


@dataclass(frozen=True)
class Settings:
    """Validated configuration of one service instance."""

    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    data_dir: Path = Path("data")
    database_url: str = "sqlite+aiosqlite:///data/telehealth.db"
    secret_key: str = field(default="", repr=False)
    redis_url: str = ""
    session_idle: timedelta = timedelta(minutes=15)
    session_absolute: timedelta = timedelta(hours=12)
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20
    login_lockout: timedelta = timedelta(minutes=15)
    self_registration: bool = False
    max_body_bytes: int = 1_048_576
    argon2_time_cost: int = OWASP_ARGON2_TIME_COST
    argon2_memory_kib: int = OWASP_ARGON2_MEMORY_KIB
    argon2_parallelism: int = 1
    trust_forwarded_for: bool = False
    allowed_origins: tuple[str, ...] = ()
    clinic_name: str = "Armor Physical Therapy"
    clinic_time_zone: str = "America/New_York"
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = field(default="", repr=False)
    stun_urls: tuple[str, ...] = ()
    notes_readable_by_admins: bool = False
    notes_readable_by_care_team: bool = False
    log_level: str = "INFO"
    log_format: str = "json"

    @property
    def is_production(self) -> bool:
        """Whether this instance serves real patients."""
        return self.env == "production"

    @property
    def uses_https(self) -> bool:
        """Whether people reach the service over https (cookies get Secure and __Host-)."""
        return self.public_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @property
    def public_origin(self) -> str:
        """scheme://host[:port] of PUBLIC_URL."""
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def websocket_origins(self) -> tuple[str, ...]:
        """Origins allowed to open the visit WebSocket."""
        return (self.public_origin, *self.allowed_origins)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate TELEHEALTH_* variables; raise SettingsError naming the first bad one."""
        unknown = sorted(k for k in environ if k.startswith(PREFIX) and k not in KNOWN_VARIABLES)
        if unknown:
            raise SettingsError(f"{unknown[0]} is not a known setting (see README, Settings)")
        raw: dict[str, Any] = {}
        for spec in SETTINGS:
            text = environ.get(PREFIX + spec.name, spec.default)
            try:
                raw[spec.name] = spec.parse(text)
            except ValueError as exc:
                raise SettingsError(f"{PREFIX}{spec.name}: {exc}") from None
        return cls._build(raw)

    @classmethod
    def _build(cls, raw: dict[str, Any]) -> Settings:
        env: str = raw["ENV"]
        data_dir = Path(raw["DATA_DIR"])
        public_url = raw["PUBLIC_URL"] or f"http://{raw['HOST']}:{raw['PORT']}"
        if not public_url.startswith(("http://", "https://")):
            raise SettingsError(f"{PREFIX}PUBLIC_URL: expected an http(s) URL, got {public_url!r}")
        database_url = raw["DATABASE_URL"] or f"sqlite+aiosqlite:///{data_dir / 'telehealth.db'}"
        if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError(
                f"{PREFIX}DATABASE_URL: expected sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        if raw["REDIS_URL"] and not raw["REDIS_URL"].startswith(("redis://", "rediss://")):
            raise SettingsError(f"{PREFIX}REDIS_URL: expected redis:// or rediss://")
        secret_key: str = raw["SECRET_KEY"]
        if env == "production":
            if len(secret_key) < 32:
                raise SettingsError(f"{PREFIX}SECRET_KEY: production needs at least 32 characters")
            if not public_url.startswith("https://"):
                raise SettingsError(f"{PREFIX}PUBLIC_URL: production must be served over https")
        elif secret_key and len(secret_key) < 32:
            raise SettingsError(f"{PREFIX}SECRET_KEY: needs at least 32 characters")
        if raw["ARGON2_MEMORY_KIB"] < OWASP_ARGON2_MEMORY_KIB:
            raise SettingsError(
                f"{PREFIX}ARGON2_MEMORY_KIB: below OWASP's {OWASP_ARGON2_MEMORY_KIB}"
            )
        if raw["ARGON2_TIME_COST"] < OWASP_ARGON2_TIME_COST:
            raise SettingsError(f"{PREFIX}ARGON2_TIME_COST: below OWASP's {OWASP_ARGON2_TIME_COST}")
        if bool(raw["TURN_URLS"]) != bool(raw["TURN_SECRET"]):
            raise SettingsError(f"{PREFIX}TURN_URLS and {PREFIX}TURN_SECRET go together")
        return cls(
            env=env,
            host=raw["HOST"],
            port=raw["PORT"],
            public_url=public_url.rstrip("/"),
            data_dir=data_dir,
            database_url=database_url,
            secret_key=secret_key,
            redis_url=raw["REDIS_URL"],
            session_idle=timedelta(minutes=raw["SESSION_IDLE_MINUTES"]),
            session_absolute=timedelta(hours=raw["SESSION_ABSOLUTE_HOURS"]),
            login_max_failures=raw["LOGIN_MAX_FAILURES"],
            login_max_failures_per_address=raw["LOGIN_MAX_FAILURES_PER_ADDRESS"],
            login_lockout=timedelta(minutes=raw["LOGIN_LOCKOUT_MINUTES"]),
            self_registration=raw["SELF_REGISTRATION"],
            max_body_bytes=raw["MAX_BODY_BYTES"],
            argon2_time_cost=raw["ARGON2_TIME_COST"],
            argon2_memory_kib=raw["ARGON2_MEMORY_KIB"],
            argon2_parallelism=raw["ARGON2_PARALLELISM"],
            trust_forwarded_for=raw["TRUST_FORWARDED_FOR"],
            allowed_origins=_csv(raw["ALLOWED_ORIGINS"]),
            clinic_name=raw["CLINIC_NAME"],
            clinic_time_zone=raw["CLINIC_TIME_ZONE"],
            turn_urls=_csv(raw["TURN_URLS"]),
            turn_secret=raw["TURN_SECRET"],
            stun_urls=_csv(raw["STUN_URLS"]),
            notes_readable_by_admins=raw["NOTES_READABLE_BY_ADMINS"],
            notes_readable_by_care_team=raw["NOTES_READABLE_BY_CARE_TEAM"],
            log_level=raw["LOG_LEVEL"],
            log_format=raw["LOG_FORMAT"],
        )

    def with_secret(self) -> Settings:
        """Return settings whose secret key is set: outside production, generate one into DATA_DIR.

        Generated once and kept so that sessions and tickets survive a restart of a development server.
        """
        if self.secret_key:
            return self
        if self.is_production:
            raise SettingsError(f"{PREFIX}SECRET_KEY is required in production")
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            key = key_file.read_text().strip()
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key = secrets.token_urlsafe(48)
            key_file.write_text(key + "\n")
            key_file.chmod(0o600)
        return replace(self, secret_key=key)


def settings_table_markdown() -> str:
    """The README table of settings, generated from SETTINGS."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for spec in SETTINGS:
        default = f"`{spec.default}`" if spec.default else "(empty)"
        rows.append(f"| `{PREFIX}{spec.name}` | {default} | {spec.help} |")
    return "\n".join(rows)
