"""Settings: the one reader of TELEHEALTH_* environment variables, with embedded defaults.

Every setting is declared once in SETTINGS below (name, default, meaning); the README table and the
docker-compose check are derived from that declaration, so a setting cannot exist undocumented.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from telehealth import zones
from telehealth.seals import SealKeyError, SealKeys, derived_keys, parse_seal_keys

PREFIX = "TELEHEALTH_"
ENVIRONMENTS = ("development", "test", "production")
MAIL_DELIVERIES = ("smtp", "mailbox")
SMTP_SECURITIES = ("none", "starttls", "tls")
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


def _short_text(limit: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if len(value) > limit or any(ord(c) < 32 for c in value):
            raise ValueError(f"expected one line of at most {limit} characters")
        return value

    return parse


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


def _positive_number(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(f"expected a positive number, got {raw!r}")
    return value


def _seconds(raw: str) -> float:
    value = float(raw)
    if not 0 < value <= 3600:
        raise ValueError(f"expected seconds between 0 and 3600, got {raw!r}")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError(f"expected a TCP port 1-65535, got {raw!r}")
    return value


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(raw: str) -> tuple[IPNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(part, strict=False) for part in _csv(raw))
    except ValueError as exc:
        raise ValueError(f"expected comma separated addresses or CIDR ranges: {exc}") from None


def _zone(raw: str) -> str:
    if not zones.is_zone_name(raw):
        raise ValueError(zones.zone_problem(raw))
    return raw


def _grace_seconds(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 3600:
        raise ValueError(f"expected seconds between 0 and 3600, got {raw!r}")
    return value


def _mail_address(raw: str) -> str:
    value = raw.strip()
    local, at, domain = value.rpartition("@")
    if value and (
        not at
        or not local
        or "." not in domain
        or len(value) > 254
        or any(ord(c) < 33 or c in '<>,;"()[]\\' for c in value)
    ):
        raise ValueError(f"expected one email address such as clinic@example.org, got {raw!r}")
    return value


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
        "DATABASE_OWNER_URL",
        "",
        "PostgreSQL URL of the role that owns the schema; `telehealth migrate` runs as it and grants DATABASE_URL's role only what the service needs (empty = migrate as DATABASE_URL)",
    ),
    SettingSpec(
        "DB_POOL_TIMEOUT_SECONDS",
        "5",
        "how long a request waits for a free database connection before it answers 503 database_unavailable",
        _seconds,
    ),
    SettingSpec(
        "DB_CONNECT_TIMEOUT_SECONDS",
        "5",
        "how long opening a PostgreSQL connection may take (also the bound of /readyz)",
        _seconds,
    ),
    SettingSpec(
        "DB_STATEMENT_TIMEOUT_SECONDS",
        "10",
        "longest statement (PostgreSQL statement_timeout, SQLite busy timeout) and longest transaction: older ones are rolled back, never committed late",
        _seconds,
    ),
    SettingSpec(
        "SECRET_KEY",
        "",
        "at least 32 characters; signs tickets and feed URLs; generated into DATA_DIR outside production",
    ),
    SettingSpec(
        "SEAL_KEYS",
        "",
        "keys that seal signed notes, addenda and the audit chain, as id:secret pairs (32+ characters each) separated by commas; the first seals, all verify (empty = one key derived from SECRET_KEY)",
    ),
    SettingSpec(
        "AUDIT_CHECKPOINT_FILE",
        "",
        "file the audit sealer appends signed checkpoints of the chain to (one JSON line each); keep it where a database user cannot write (empty = the log)",
    ),
    SettingSpec(
        "MEASURE_PACK_DIR",
        "",
        "folder of the clinic's instrument pack (pack.json: the wording of licensed outcome measures such as ODI and HOOS JR, with the clinic's licence attestation); empty = those measures are unavailable",
    ),
    SettingSpec(
        "AUDIT_CHECKPOINT_ROWS",
        "500",
        "the sealer signs a checkpoint after this many new audit rows",
        _positive_int,
    ),
    SettingSpec(
        "AUDIT_CHECKPOINT_SECONDS",
        "10",
        "... or after this many seconds, when there are new rows",
        _seconds,
    ),
    SettingSpec(
        "AUDIT_SEAL_INTERVAL_SECONDS",
        "0.5",
        "how often each instance's sealer looks for audit rows other instances recorded (its own commits wake it at once)",
        _seconds,
    ),
    SettingSpec(
        "REDIS_URL",
        "",
        "redis://host:6379/0 to share signaling between instances; empty = in-process",
    ),
    SettingSpec(
        "REDIS_PREFIX",
        "visit:",
        "start of every signaling key and channel in Redis: deployments sharing one Redis need different ones",
    ),
    SettingSpec(
        "SIGNALING_SEND_QUEUE_BYTES",
        str(256 * 1024),
        "visit signaling: bytes of frames a client may leave unacknowledged before it is closed with 4008",
        _positive_int,
    ),
    SettingSpec(
        "SIGNALING_RESUME_BUFFER_BYTES",
        str(640 * 1024),
        "visit signaling: bytes kept per participant for resume; at least SEND_QUEUE_BYTES + 66560",
        _positive_int,
    ),
    SettingSpec(
        "SIGNALING_RATE_PER_SECOND",
        "50",
        "visit signaling: frames per second a connection may send on average (token bucket refill)",
        _positive_number,
    ),
    SettingSpec(
        "SIGNALING_RATE_BURST",
        "200",
        "visit signaling: frames a connection may send at once (token bucket size)",
        _positive_int,
    ),
    SettingSpec(
        "SIGNALING_RESUME_WINDOW_SECONDS",
        "30",
        "visit signaling: how long a dropped participant may resume before peers see it leave",
        _seconds,
    ),
    SettingSpec(
        "SIGNALING_HEARTBEAT_SECONDS",
        "0.5",
        "visit signaling with REDIS_URL: how often each instance refreshes its liveness key",
        _seconds,
    ),
    SettingSpec(
        "SIGNALING_INSTANCE_TTL_SECONDS",
        "2",
        "visit signaling with REDIS_URL: an instance silent this long is taken for dead and its participants shown reconnecting; above HEARTBEAT_SECONDS",
        _seconds,
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
    SettingSpec(
        "LOGIN_DEVICE_DAYS",
        "90",
        "days a browser that signed in stays trusted to sign in to that account while it is locked",
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
        "METRICS_ALLOW",
        "127.0.0.0/8,::1",
        "client addresses (comma separated CIDR ranges) that GET /metrics answers; others get 404; empty = nobody",
        _networks,
    ),
    SettingSpec(
        "ALLOWED_ORIGINS",
        "",
        "extra origins allowed to open the visit WebSocket (comma separated); PUBLIC_URL is always allowed",
    ),
    SettingSpec("CLINIC_NAME", "Armor Physical Therapy", "name shown on pages"),
    SettingSpec(
        "MAIL_DELIVERY",
        "mailbox",
        "how messages to patients leave: smtp (through SMTP_HOST) or mailbox (kept in the outbox table only, for development)",
        _choice(*MAIL_DELIVERIES),
    ),
    SettingSpec(
        "MAIL_FROM",
        "",
        "the address messages come from, e.g. appointments@clinic.example; needed with MAIL_DELIVERY=smtp",
        _mail_address,
    ),
    SettingSpec(
        "MAIL_FROM_NAME",
        "",
        "the name messages come from (empty = CLINIC_NAME)",
        _short_text(80),
    ),
    SettingSpec("SMTP_HOST", "", "the SMTP server messages are handed to (MAIL_DELIVERY=smtp)"),
    SettingSpec("SMTP_PORT", "587", "its port", _port),
    SettingSpec(
        "SMTP_SECURITY",
        "starttls",
        "none, starttls (upgrade a plain connection, usually port 587) or tls (TLS from the start, usually port 465)",
        _choice(*SMTP_SECURITIES),
    ),
    SettingSpec("SMTP_USERNAME", "", "user to log in to the SMTP server as (empty = no login)"),
    SettingSpec("SMTP_PASSWORD", "", "its password"),
    SettingSpec(
        "SMTP_TIMEOUT_SECONDS",
        "30",
        "longest wait for the SMTP server at each step of a send",
        _seconds,
    ),
    SettingSpec(
        "MAIL_GRACE_SECONDS",
        "120",
        "how long a message about a booking waits before it is sent: a change within it replaces the message instead of sending two",
        _grace_seconds,
    ),
    SettingSpec(
        "MAIL_MAX_ATTEMPTS",
        "8",
        "sends tried before a message is marked failed (the waits between them double from MAIL_RETRY_SECONDS)",
        _positive_int,
    ),
    SettingSpec(
        "MAIL_RETRY_SECONDS",
        "60",
        "wait before the second try of a message that could not be sent",
        _seconds,
    ),
    SettingSpec(
        "MAIL_POLL_SECONDS",
        "15",
        "how often each instance looks for messages that came due (its own commits wake it at once)",
        _seconds,
    ),
    SettingSpec(
        "CLINIC_PHONE",
        "",
        "the clinic's phone number, shown (with a call link) at the foot of every page and wherever a page says to call the clinic; empty = not shown",
        _short_text(32),
    ),
    SettingSpec(
        "CLINIC_HOURS",
        "",
        "when that phone is answered, in words (e.g. Mon-Fri 8 AM-6 PM), shown beside it",
        _short_text(80),
    ),
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
        "PROGRESS_REPORT_BLOCKS_DAILY_NOTES",
        "false",
        "refuse to sign a billable daily note that would be an episode's 10th treatment day"
        " without a progress report (Medicare's hard stop; the caseload warns either way)",
        _bool,
    ),
    SettingSpec(
        "PLAN_LAPSE_BLOCKS_BOOKING",
        "true",
        "refuse a patient's online booking of a within-plan visit type after their plan of care's"
        " certified period has ended (Medicare's rule; false lets the plan's frequency still apply)",
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
    database_owner_url: str = field(default="", repr=False)
    db_pool_timeout: float = 5.0
    db_connect_timeout: float = 5.0
    db_statement_timeout: float = 10.0
    secret_key: str = field(default="", repr=False)
    seal_keys_setting: str = field(default="", repr=False)
    audit_checkpoint_file: Path | None = None
    measure_pack_dir: Path | None = None
    audit_checkpoint_rows: int = 500
    audit_checkpoint_seconds: float = 10.0
    audit_seal_interval: float = 0.5
    redis_url: str = ""
    redis_prefix: str = "visit:"
    signaling_send_queue_bytes: int = 256 * 1024
    signaling_resume_buffer_bytes: int = 640 * 1024
    signaling_rate_per_second: float = 50.0
    signaling_rate_burst: int = 200
    signaling_resume_window: float = 30.0
    signaling_heartbeat: float = 0.5
    signaling_instance_ttl: float = 2.0
    session_idle: timedelta = timedelta(minutes=15)
    session_absolute: timedelta = timedelta(hours=12)
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20
    login_lockout: timedelta = timedelta(minutes=15)
    login_device_lifetime: timedelta = timedelta(days=90)
    self_registration: bool = False
    max_body_bytes: int = 1_048_576
    argon2_time_cost: int = OWASP_ARGON2_TIME_COST
    argon2_memory_kib: int = OWASP_ARGON2_MEMORY_KIB
    argon2_parallelism: int = 1
    trust_forwarded_for: bool = False
    metrics_allow: tuple[IPNetwork, ...] = (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1"),
    )
    allowed_origins: tuple[str, ...] = ()
    clinic_name: str = "Armor Physical Therapy"
    mail_delivery: str = "mailbox"
    mail_from: str = ""
    mail_from_name: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_timeout: float = 30.0
    mail_grace: timedelta = timedelta(minutes=2)
    mail_max_attempts: int = 8
    mail_retry: timedelta = timedelta(seconds=60)
    mail_poll_interval: float = 15.0
    clinic_phone: str = ""
    clinic_hours: str = ""
    clinic_time_zone: str = "America/New_York"
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = field(default="", repr=False)
    stun_urls: tuple[str, ...] = ()
    notes_readable_by_admins: bool = False
    notes_readable_by_care_team: bool = False
    plan_lapse_blocks_booking: bool = True
    progress_report_blocks_daily_notes: bool = False
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
    def mail_sender(self) -> tuple[str, str]:
        """The name and address messages come from (the address defaults to one at the public
        host, which only the mailbox ever sees: smtp delivery requires MAIL_FROM)."""
        host = urlsplit(self.public_url).hostname or "localhost"
        return self.mail_from_name or self.clinic_name, self.mail_from or f"no-reply@{host}"

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @property
    def seal_keys(self) -> SealKeys:
        """The keys that seal signed records: SEAL_KEYS, or one derived from the secret key."""
        explicit = parse_seal_keys(self.seal_keys_setting)
        if explicit is not None:
            return explicit
        if not self.secret_key:
            # A key derived from an empty secret would be known to everyone.
            raise SettingsError(
                f"{PREFIX}SECRET_KEY (or {PREFIX}SEAL_KEYS) is needed to seal notes"
            )
        return derived_keys(self.secret_key)

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
        database_owner_url: str = raw["DATABASE_OWNER_URL"]
        if database_owner_url and not (
            database_owner_url.startswith("postgresql+asyncpg://")
            and database_url.startswith("postgresql+asyncpg://")
        ):
            raise SettingsError(
                f"{PREFIX}DATABASE_OWNER_URL: expected postgresql+asyncpg://, with a PostgreSQL DATABASE_URL"
            )
        try:
            parse_seal_keys(raw["SEAL_KEYS"])
        except SealKeyError as exc:
            raise SettingsError(f"{PREFIX}SEAL_KEYS: {exc}") from None
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
        # The resume guarantee after a 4008 (docs/signaling.md): one largest frame
        # (64 KiB + 1 KiB) on top of the send queue.
        if raw["SIGNALING_RESUME_BUFFER_BYTES"] < raw["SIGNALING_SEND_QUEUE_BYTES"] + 66560:
            raise SettingsError(
                f"{PREFIX}SIGNALING_RESUME_BUFFER_BYTES: must be at least "
                f"{PREFIX}SIGNALING_SEND_QUEUE_BYTES + 66560"
            )
        if raw["SIGNALING_INSTANCE_TTL_SECONDS"] <= raw["SIGNALING_HEARTBEAT_SECONDS"]:
            raise SettingsError(
                f"{PREFIX}SIGNALING_INSTANCE_TTL_SECONDS: must be above "
                f"{PREFIX}SIGNALING_HEARTBEAT_SECONDS"
            )
        if raw["MAIL_DELIVERY"] == "smtp" and not (raw["SMTP_HOST"] and raw["MAIL_FROM"]):
            raise SettingsError(
                f"{PREFIX}MAIL_DELIVERY=smtp needs {PREFIX}SMTP_HOST and {PREFIX}MAIL_FROM"
            )
        if bool(raw["SMTP_USERNAME"]) != bool(raw["SMTP_PASSWORD"]):
            raise SettingsError(f"{PREFIX}SMTP_USERNAME and {PREFIX}SMTP_PASSWORD go together")
        if bool(raw["TURN_URLS"]) != bool(raw["TURN_SECRET"]):
            raise SettingsError(f"{PREFIX}TURN_URLS and {PREFIX}TURN_SECRET go together")
        return cls(
            env=env,
            host=raw["HOST"],
            port=raw["PORT"],
            public_url=public_url.rstrip("/"),
            data_dir=data_dir,
            database_url=database_url,
            database_owner_url=database_owner_url,
            db_pool_timeout=raw["DB_POOL_TIMEOUT_SECONDS"],
            db_connect_timeout=raw["DB_CONNECT_TIMEOUT_SECONDS"],
            db_statement_timeout=raw["DB_STATEMENT_TIMEOUT_SECONDS"],
            secret_key=secret_key,
            seal_keys_setting=raw["SEAL_KEYS"],
            audit_checkpoint_file=Path(raw["AUDIT_CHECKPOINT_FILE"])
            if raw["AUDIT_CHECKPOINT_FILE"]
            else None,
            measure_pack_dir=Path(raw["MEASURE_PACK_DIR"]) if raw["MEASURE_PACK_DIR"] else None,
            audit_checkpoint_rows=raw["AUDIT_CHECKPOINT_ROWS"],
            audit_checkpoint_seconds=raw["AUDIT_CHECKPOINT_SECONDS"],
            audit_seal_interval=raw["AUDIT_SEAL_INTERVAL_SECONDS"],
            redis_url=raw["REDIS_URL"],
            redis_prefix=raw["REDIS_PREFIX"],
            signaling_send_queue_bytes=raw["SIGNALING_SEND_QUEUE_BYTES"],
            signaling_resume_buffer_bytes=raw["SIGNALING_RESUME_BUFFER_BYTES"],
            signaling_rate_per_second=raw["SIGNALING_RATE_PER_SECOND"],
            signaling_rate_burst=raw["SIGNALING_RATE_BURST"],
            signaling_resume_window=raw["SIGNALING_RESUME_WINDOW_SECONDS"],
            signaling_heartbeat=raw["SIGNALING_HEARTBEAT_SECONDS"],
            signaling_instance_ttl=raw["SIGNALING_INSTANCE_TTL_SECONDS"],
            session_idle=timedelta(minutes=raw["SESSION_IDLE_MINUTES"]),
            session_absolute=timedelta(hours=raw["SESSION_ABSOLUTE_HOURS"]),
            login_max_failures=raw["LOGIN_MAX_FAILURES"],
            login_max_failures_per_address=raw["LOGIN_MAX_FAILURES_PER_ADDRESS"],
            login_lockout=timedelta(minutes=raw["LOGIN_LOCKOUT_MINUTES"]),
            login_device_lifetime=timedelta(days=raw["LOGIN_DEVICE_DAYS"]),
            self_registration=raw["SELF_REGISTRATION"],
            max_body_bytes=raw["MAX_BODY_BYTES"],
            argon2_time_cost=raw["ARGON2_TIME_COST"],
            argon2_memory_kib=raw["ARGON2_MEMORY_KIB"],
            argon2_parallelism=raw["ARGON2_PARALLELISM"],
            trust_forwarded_for=raw["TRUST_FORWARDED_FOR"],
            metrics_allow=raw["METRICS_ALLOW"],
            allowed_origins=_csv(raw["ALLOWED_ORIGINS"]),
            clinic_name=raw["CLINIC_NAME"],
            mail_delivery=raw["MAIL_DELIVERY"],
            mail_from=raw["MAIL_FROM"],
            mail_from_name=raw["MAIL_FROM_NAME"],
            smtp_host=raw["SMTP_HOST"],
            smtp_port=raw["SMTP_PORT"],
            smtp_security=raw["SMTP_SECURITY"],
            smtp_username=raw["SMTP_USERNAME"],
            smtp_password=raw["SMTP_PASSWORD"],
            smtp_timeout=raw["SMTP_TIMEOUT_SECONDS"],
            mail_grace=timedelta(seconds=raw["MAIL_GRACE_SECONDS"]),
            mail_max_attempts=raw["MAIL_MAX_ATTEMPTS"],
            mail_retry=timedelta(seconds=raw["MAIL_RETRY_SECONDS"]),
            mail_poll_interval=raw["MAIL_POLL_SECONDS"],
            clinic_phone=raw["CLINIC_PHONE"],
            clinic_hours=raw["CLINIC_HOURS"],
            clinic_time_zone=raw["CLINIC_TIME_ZONE"],
            turn_urls=_csv(raw["TURN_URLS"]),
            turn_secret=raw["TURN_SECRET"],
            stun_urls=_csv(raw["STUN_URLS"]),
            notes_readable_by_admins=raw["NOTES_READABLE_BY_ADMINS"],
            notes_readable_by_care_team=raw["NOTES_READABLE_BY_CARE_TEAM"],
            plan_lapse_blocks_booking=raw["PLAN_LAPSE_BLOCKS_BOOKING"],
            progress_report_blocks_daily_notes=raw["PROGRESS_REPORT_BLOCKS_DAILY_NOTES"],
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
