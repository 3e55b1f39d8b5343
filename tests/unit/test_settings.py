"""Settings: embedded defaults, and every bad value refused with the variable's name."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from telehealth.__main__ import serve_environ
from telehealth.config import (
    KNOWN_VARIABLES,
    OWASP_ARGON2_MEMORY_KIB,
    SETTINGS,
    Settings,
    SettingsError,
    settings_table_markdown,
)

GOOD_SECRET = "s" * 32


def test_defaults_without_any_variable() -> None:
    settings = Settings.from_env({})
    assert settings.env == "development"
    assert settings.port == 8080
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.database_url == f"sqlite+aiosqlite:///{Path('data') / 'telehealth.db'}"
    assert settings.is_sqlite
    assert not settings.uses_https
    assert settings.session_idle == timedelta(minutes=15)
    assert settings.session_absolute == timedelta(hours=12)
    assert settings.login_max_failures == 5
    assert settings.login_max_failures_per_address == 20
    assert settings.login_lockout == timedelta(minutes=15)
    assert settings.self_registration is False
    assert settings.max_body_bytes == 1_048_576
    assert settings.argon2_memory_kib >= OWASP_ARGON2_MEMORY_KIB
    assert settings.clinic_time_zone == "America/New_York"
    assert settings.secret_key == ""


def test_defaults_of_the_dataclass_match_the_declared_defaults() -> None:
    # Two places hold defaults (SETTINGS and the dataclass); they must agree.
    assert Settings.from_env({}) == Settings()


def test_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "TELEHEALTH_PORT": "9000",
            "TELEHEALTH_SELF_REGISTRATION": "yes",
            "TELEHEALTH_PUBLIC_URL": "https://clinic.example/",
            "TELEHEALTH_ALLOWED_ORIGINS": "https://a.example, https://b.example,",
            "TELEHEALTH_SESSION_IDLE_MINUTES": "5",
        }
    )
    assert settings.port == 9000
    assert settings.self_registration is True
    assert settings.public_url == "https://clinic.example"
    assert settings.uses_https
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.websocket_origins == (
        "https://clinic.example",
        "https://a.example",
        "https://b.example",
    )
    assert settings.session_idle == timedelta(minutes=5)


def test_production_with_what_it_needs_is_accepted() -> None:
    settings = Settings.from_env(
        {
            "TELEHEALTH_ENV": "production",
            "TELEHEALTH_SECRET_KEY": GOOD_SECRET,
            "TELEHEALTH_PUBLIC_URL": "https://clinic.example",
        }
    )
    assert settings.is_production


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"TELEHEALTH_PORT": "abc"}, "TELEHEALTH_PORT"),
        ({"TELEHEALTH_PORT": "70000"}, "TELEHEALTH_PORT"),
        ({"TELEHEALTH_ENV": "staging"}, "TELEHEALTH_ENV"),
        ({"TELEHEALTH_CLINIC_TIME_ZONE": "Mars/Olympus_Mons"}, "TELEHEALTH_CLINIC_TIME_ZONE"),
        ({"TELEHEALTH_SELF_REGISTRATION": "maybe"}, "TELEHEALTH_SELF_REGISTRATION"),
        ({"TELEHEALTH_SESSION_IDLE_MINUTES": "0"}, "TELEHEALTH_SESSION_IDLE_MINUTES"),
        ({"TELEHEALTH_LOG_LEVEL": "LOUD"}, "TELEHEALTH_LOG_LEVEL"),
        (
            {
                "TELEHEALTH_ENV": "production",
                "TELEHEALTH_SECRET_KEY": "short",
                "TELEHEALTH_PUBLIC_URL": "https://clinic.example",
            },
            "TELEHEALTH_SECRET_KEY",
        ),
        (
            {"TELEHEALTH_ENV": "production", "TELEHEALTH_PUBLIC_URL": "https://clinic.example"},
            "TELEHEALTH_SECRET_KEY",
        ),
        (
            {
                "TELEHEALTH_ENV": "production",
                "TELEHEALTH_SECRET_KEY": GOOD_SECRET,
                "TELEHEALTH_PUBLIC_URL": "http://clinic.example",
            },
            "TELEHEALTH_PUBLIC_URL",
        ),
        (
            {"TELEHEALTH_ENV": "production", "TELEHEALTH_SECRET_KEY": GOOD_SECRET},
            "TELEHEALTH_PUBLIC_URL",
        ),
        ({"TELEHEALTH_PUBLIC_URL": "clinic.example"}, "TELEHEALTH_PUBLIC_URL"),
        ({"TELEHEALTH_SECRET_KEY": "too-short"}, "TELEHEALTH_SECRET_KEY"),
        (
            {"TELEHEALTH_ARGON2_MEMORY_KIB": str(OWASP_ARGON2_MEMORY_KIB - 1)},
            "TELEHEALTH_ARGON2_MEMORY_KIB",
        ),
        ({"TELEHEALTH_ARGON2_TIME_COST": "1"}, "TELEHEALTH_ARGON2_TIME_COST"),
        ({"TELEHEALTH_DATABASE_URL": "mysql://db/clinic"}, "TELEHEALTH_DATABASE_URL"),
        ({"TELEHEALTH_REDIS_URL": "http://redis"}, "TELEHEALTH_REDIS_URL"),
        ({"TELEHEALTH_TURN_URLS": "turn:turn.example:3478"}, "TELEHEALTH_TURN_SECRET"),
        ({"TELEHEALTH_FOO": "1"}, "TELEHEALTH_FOO"),
    ],
)
def test_bad_value_is_refused_naming_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)
    assert variable in str(raised.value)


def test_variables_of_other_programs_are_ignored() -> None:
    settings = Settings.from_env({"PORT": "abc", "HOME": "/root", "TELEHEALTHY": "1"})
    assert settings.port == 8080


def test_every_declared_setting_is_known_and_documented() -> None:
    table = settings_table_markdown()
    for spec in SETTINGS:
        assert f"TELEHEALTH_{spec.name}" in KNOWN_VARIABLES
        assert f"`TELEHEALTH_{spec.name}`" in table
        # Each declared default must itself be a valid value.
        Settings.from_env({f"TELEHEALTH_{spec.name}": spec.default})
    assert len(KNOWN_VARIABLES) == len(SETTINGS)


def test_secret_is_refused_in_production_without_one() -> None:
    settings = Settings(env="production", public_url="https://clinic.example")
    with pytest.raises(SettingsError, match="TELEHEALTH_SECRET_KEY"):
        settings.with_secret()


def test_repr_does_not_show_the_secret() -> None:
    settings = Settings(secret_key=GOOD_SECRET, turn_secret="turn-secret-value")
    assert GOOD_SECRET not in repr(settings)
    assert "turn-secret-value" not in repr(settings)


def test_serve_port_and_host_feed_the_default_public_url_and_websocket_origin() -> None:
    settings = Settings.from_env(serve_environ({"TELEHEALTH_PORT": "8080"}, "127.0.0.2", 8124))
    assert (settings.host, settings.port) == ("127.0.0.2", 8124)
    assert settings.public_url == "http://127.0.0.2:8124"
    assert settings.websocket_origins[0] == "http://127.0.0.2:8124"
    # An explicit PUBLIC_URL (the reverse proxy's) is left alone.
    behind = serve_environ({"TELEHEALTH_PUBLIC_URL": "https://clinic.example"}, None, 8124)
    assert Settings.from_env(behind).public_url == "https://clinic.example"


def test_a_resume_buffer_too_small_for_the_send_queue_is_refused() -> None:
    with pytest.raises(SettingsError, match="SIGNALING_RESUME_BUFFER_BYTES"):
        Settings.from_env(
            {
                "TELEHEALTH_SIGNALING_SEND_QUEUE_BYTES": "500000",
                "TELEHEALTH_SIGNALING_RESUME_BUFFER_BYTES": "500000",
            }
        )


README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_the_generated_one() -> None:
    text = README.read_text()
    start = text.index("<!-- settings-table:start -->\n") + len("<!-- settings-table:start -->\n")
    end = text.index("<!-- settings-table:end -->")
    assert text[start:end].strip() == settings_table_markdown(), (
        "README settings table is stale: paste telehealth.config.settings_table_markdown()"
    )


def test_metrics_are_for_loopback_by_default() -> None:
    allowed = Settings.from_env({}).metrics_allow
    assert [str(network) for network in allowed] == ["127.0.0.0/8", "::1/128"]
    assert Settings().metrics_allow == allowed


def test_metrics_allow_takes_addresses_and_ranges() -> None:
    settings = Settings.from_env({"TELEHEALTH_METRICS_ALLOW": "10.0.0.0/8, 192.0.2.7,fd00::/8"})
    assert [str(n) for n in settings.metrics_allow] == ["10.0.0.0/8", "192.0.2.7/32", "fd00::/8"]
    assert Settings.from_env({"TELEHEALTH_METRICS_ALLOW": ""}).metrics_allow == ()


@pytest.mark.parametrize("value", ["10.0.0.0/33", "not-an-address", "10.0.0.0/8;rm"])
def test_metrics_allow_refuses_what_is_not_a_range(value: str) -> None:
    with pytest.raises(SettingsError, match="TELEHEALTH_METRICS_ALLOW"):
        Settings.from_env({"TELEHEALTH_METRICS_ALLOW": value})


@pytest.mark.parametrize("zone", ["America", "Etc", "", "../etc/passwd", "localtime"])
def test_the_clinic_zone_is_checked_like_every_zone(zone: str) -> None:
    with pytest.raises(SettingsError, match="TELEHEALTH_CLINIC_TIME_ZONE"):
        Settings.from_env({"TELEHEALTH_CLINIC_TIME_ZONE": zone})


def test_mail_is_kept_in_the_mailbox_unless_smtp_is_configured() -> None:
    settings = Settings.from_env({})
    assert settings.mail_delivery == "mailbox"
    assert settings.mail_sender == ("Armor Physical Therapy", "no-reply@127.0.0.1")
    assert settings.mail_grace == timedelta(minutes=2)


def test_smtp_delivery_reads_its_server_and_keeps_the_password_out_of_repr() -> None:
    settings = Settings.from_env(
        {
            "TELEHEALTH_MAIL_DELIVERY": "smtp",
            "TELEHEALTH_SMTP_HOST": "smtp.clinic.example",
            "TELEHEALTH_SMTP_PORT": "465",
            "TELEHEALTH_SMTP_SECURITY": "tls",
            "TELEHEALTH_SMTP_USERNAME": "clinic",
            "TELEHEALTH_SMTP_PASSWORD": "smtp-password-value",
            "TELEHEALTH_MAIL_FROM": "appointments@clinic.example",
            "TELEHEALTH_MAIL_FROM_NAME": "Front desk",
            "TELEHEALTH_MAIL_GRACE_SECONDS": "0",
        }
    )
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == (
        "smtp.clinic.example",
        465,
        "tls",
    )
    assert settings.mail_sender == ("Front desk", "appointments@clinic.example")
    assert settings.mail_grace == timedelta(0)
    assert "smtp-password-value" not in repr(settings)


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"TELEHEALTH_MAIL_DELIVERY": "smtp"}, "TELEHEALTH_MAIL_DELIVERY"),
        (
            {"TELEHEALTH_MAIL_DELIVERY": "smtp", "TELEHEALTH_SMTP_HOST": "smtp.example"},
            "TELEHEALTH_MAIL_FROM",
        ),
        ({"TELEHEALTH_MAIL_DELIVERY": "pigeon"}, "TELEHEALTH_MAIL_DELIVERY"),
        ({"TELEHEALTH_SMTP_SECURITY": "ssl"}, "TELEHEALTH_SMTP_SECURITY"),
        ({"TELEHEALTH_MAIL_FROM": "not an address"}, "TELEHEALTH_MAIL_FROM"),
        ({"TELEHEALTH_MAIL_FROM": "a@b.example\r\nBcc: x@y.example"}, "TELEHEALTH_MAIL_FROM"),
        ({"TELEHEALTH_MAIL_FROM_NAME": "Clinic\x00"}, "TELEHEALTH_MAIL_FROM_NAME"),
        ({"TELEHEALTH_SMTP_USERNAME": "clinic"}, "TELEHEALTH_SMTP_USERNAME"),
        ({"TELEHEALTH_MAIL_GRACE_SECONDS": "-1"}, "TELEHEALTH_MAIL_GRACE_SECONDS"),
        ({"TELEHEALTH_MAIL_MAX_ATTEMPTS": "0"}, "TELEHEALTH_MAIL_MAX_ATTEMPTS"),
    ],
)
def test_bad_mail_settings_are_refused_naming_the_variable(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(environ)
