"""The running service behaves as its own OpenAPI document says, under schemathesis.

Every operation of /api/v1/openapi.json is exercised against a live server (the app factory on a
free port) on SQLite and on PostgreSQL, with every schemathesis check (status codes, content types,
response schemas, headers, positive data accepted, negative data refused, auth not ignored,
unsupported methods, no 5xx) and a fixed seed, so a failure replays.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis

from telehealth.accounts.models import Role
from telehealth.app import build_api
from tests.conftest import PASSWORD, People, _truncate, base_settings
from tests.integration.live import LiveServer, live_server

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261201,
        "generation": {"mode": "all", "max-examples": 10, "deterministic": True},
        "checks": {
            # Replaced by valid_data_passes_the_schema below: the built-in check takes any 422 to
            # a schema-valid request as a mismatch, but the service has rules no JSON Schema can
            # say (an email's shape, a block that ends after it starts, a report of at most three
            # years, consent is given by patients) and answers them 422 by design.
            "positive_data_acceptance": {"enabled": False},
        },
        "phases": {
            # The coverage phase (every boundary and enum value of every parameter) sends about
            # ten times the requests of the fuzzing phase: several minutes per engine on a 2-core
            # machine. CI runs fuzzing (positive and negative data); set
            # TELEHEALTH_CONFORMANCE_COVERAGE=1 for the full run.
            "coverage": {"enabled": os.environ.get("TELEHEALTH_CONFORMANCE_COVERAGE") == "1"},
            "stateful": {"enabled": False},
        },
    }
)
SCHEMA = schemathesis.openapi.from_dict(build_api().openapi(), config=CONFIG)


class Target:
    """The server under test and an admin's credentials."""

    def __init__(self, server: LiveServer, email: str) -> None:
        self.server = server
        self.email = email
        self.headers = self.sign_in()

    def sign_in(self) -> dict[str, str]:
        """A new session of the admin, as bearer headers."""
        answer = requests.post(
            f"{self.server.url}/api/v1/auth/login",
            json={"email": self.email, "password": PASSWORD},
            timeout=30,
        )
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['token']}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """One live server per engine for the whole module, with an admin signed in."""
    folder = tmp_path_factory.mktemp("conformance")
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, folder / "test.db")
        url = f"sqlite+aiosqlite:///{folder / 'test.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        asyncio.run(_truncate(url))
    with live_server(base_settings(folder, url)) as server:
        admin = server.run(People(server.services).make(Role.ADMIN))
        yield Target(server, admin.email)


# Errors of the schema layer itself; a schema-valid request must never get one.
SCHEMA_LAYER_CODES = {"malformed_json", "unsupported_media_type", "invalid_body"}
# Validation errors that are rules stated in the document's prose, not in JSON Schema keywords:
# model validators across fields, a zone the tz database holds, text deep inside a JSON object.
RULE_ERROR_TYPES = {"value_error", "assertion_error", "time_zone", "json_text"}


def valid_data_passes_the_schema(ctx: Any, response: Any, case: Any) -> None:
    """What the document calls valid gets past the schema layer; only the rules may refuse it."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code not in (400, 415, 422):
        return
    error = response.json().get("error", {})
    details = error.get("details")
    problems = (
        # The schema layer's details name the pydantic error type; the rules' details do not.
        [
            d
            for d in details
            if isinstance(d, dict) and d.get("type", "value_error") not in RULE_ERROR_TYPES
        ]
        if error.get("code") == "invalid_input" and isinstance(details, list)
        else []
    )
    # Text is stripped of surrounding whitespace before its length is checked, as the document's
    # description says; " a" for a minLength of 2 is refused by that stated rule.
    body = case.body if isinstance(case.body, dict) else {}
    problems = [
        d
        for d in problems
        if not (
            d.get("type") == "string_too_short"
            and isinstance(body.get(d.get("field")), str)
            and body[d["field"]] != body[d["field"]].strip()
        )
    ]
    if error.get("code") in SCHEMA_LAYER_CODES or problems:
        raise AssertionError(
            f"{case.operation.label}: a request valid by the document was refused by the schema "
            f"layer: {response.status_code} {error}"
        )


@SCHEMA.parametrize()
def test_the_service_matches_its_openapi_document(case: Any, target: Target) -> None:
    # Signing out ends the session it is sent with: each of its cases gets a session of its own.
    signs_out = case.operation.path.endswith("/auth/logout")
    headers = target.sign_in() if signs_out else target.headers
    case.call_and_validate(
        base_url=target.server.url,
        headers=headers,
        additional_checks=[valid_data_passes_the_schema],
        timeout=30,
    )
