"""The `telehealth` command: bad settings stop it with one line and exit status 2."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


async def run_cli(*args: str, env: dict[str, str], tmp_path: Path) -> tuple[int, str, str]:
    """Run `python -m telehealth` with only the given TELEHEALTH_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    clean.update({"TELEHEALTH_DATA_DIR": str(tmp_path / "data"), **env})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telehealth",
        *args,
        cwd=REPO,
        env=clean,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"TELEHEALTH_PORT": "abc"}, "TELEHEALTH_PORT"),
        ({"TELEHEALTH_ENV": "staging"}, "TELEHEALTH_ENV"),
        ({"TELEHEALTH_CLINIC_TIME_ZONE": "Nowhere/City"}, "TELEHEALTH_CLINIC_TIME_ZONE"),
        ({"TELEHEALTH_FOO": "1"}, "TELEHEALTH_FOO"),
        (
            {"TELEHEALTH_ENV": "production", "TELEHEALTH_PUBLIC_URL": "https://clinic.example"},
            "TELEHEALTH_SECRET_KEY",
        ),
    ],
)
async def test_bad_setting_exits_2_with_one_line(
    env: dict[str, str], variable: str, tmp_path: Path
) -> None:
    code, out, err = await run_cli("migrate", env=env, tmp_path=tmp_path)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("telehealth: configuration error:")
    assert variable in lines[0]
    assert not (tmp_path / "data" / "telehealth.db").exists()


async def test_demo_data_is_refused_in_production(tmp_path: Path) -> None:
    env = {
        "TELEHEALTH_ENV": "production",
        "TELEHEALTH_SECRET_KEY": "p" * 48,
        "TELEHEALTH_PUBLIC_URL": "https://clinic.example",
        "TELEHEALTH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}",
    }
    code, out, err = await run_cli("demo-data", env=env, tmp_path=tmp_path)
    assert code == 2
    assert "demo-pass" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "production" in lines[0]


async def test_migrate_and_demo_data_outside_production(tmp_path: Path) -> None:
    env = {
        "TELEHEALTH_ENV": "development",
        "TELEHEALTH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}",
    }
    code, out, err = await run_cli("migrate", env=env, tmp_path=tmp_path)
    assert (code, out.strip()) == (0, "database is up to date"), err
    code, out, err = await run_cli("demo-data", env=env, tmp_path=tmp_path)
    assert code == 0, err
    assert "admin@demo.clinic" in out
