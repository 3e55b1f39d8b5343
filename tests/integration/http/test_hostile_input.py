"""No input makes the service answer 5xx: every operation of its OpenAPI document and every page.

Hypothesis draws, for every documented operation (read from /api/v1/openapi.json) and every page
route, requests with hostile text (NUL and other control characters, lone surrogates, zone-like and
path-like names) in path parameters, query strings and bodies; malformed JSON; malformed form bodies
(a multipart body without its boundary, bytes that are not UTF-8); and wrong content types. Every
operation and page, whatever its method, is also sent a body of drawn raw bytes declared as JSON,
urlencoded or multipart form (the bytes on their own or after the opening of such a body, so the
parsers get past the first byte). Each is sent anonymously, with a session cookie and its CSRF
token, and with a bearer token, on SQLite and PostgreSQL. The property: the status is below 500,
and an API error is in the project's one shape.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from telehealth.accounts import service as accounts
from telehealth.accounts.models import Role
from telehealth.accounts.service import SignedIn
from telehealth.actors import Caller
from telehealth.app import create_app
from telehealth.clock import ManualClock
from telehealth.http.keys import SERVICES
from tests.conftest import PASSWORD, T0, People, base_settings
from tests.integration.helpers import assert_error_shape

# Bounded for CI: each example sends two requests per operation, page and identity (about 600).
EXAMPLES = 4

_NASTY = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\x1b[31m",
    "\x7f",
    "\u0085",
    "line\nbreak",
    "America",
    "Etc",
    "Etc/",
    "../../etc/passwd",
    "/etc/localtime",
    "",
    " ",
    "0.5",
    "-1",
    "1e309",
    "99999999999999999999999",
    "2026-02-30",
    "2026-03-02T14:00:00",
    "24:00",
    "09:00+05:00",
    "NaN",
    "null",
    "' OR 1=1 --",
    "%00",
    "\ufeff",
    "\U0001f600",
]
hostile_text = st.one_of(
    st.sampled_from(_NASTY),
    st.text(max_size=12),
    # Control characters and lone surrogates only.
    st.text(st.characters(categories=["Cc", "Cs"]), min_size=1, max_size=6),
    st.builds(lambda a, b: a + b, st.sampled_from(_NASTY), st.text(max_size=6)),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(hostile_text, children, max_size=3)
    ),
    max_leaves=8,
)
path_values = st.one_of(st.uuids().map(str), st.sampled_from(["2026-03-02"]), hostile_text)
MALFORMED_BODIES: list[tuple[str, bytes]] = [
    ("application/json", b'{"email": "a@b.test", "password": '),
    ("application/json", b"\xff\xfe\x00{"),
    ("application/json", b'{"text": "\xed\xa0\x80"}'),
    ("application/json", b'{"a": "\\ud800"}'),
    ("application/json", b"[" * 200 + b"]" * 200),
    ("multipart/form-data", b"--x\r\n\r\nvalue\r\n--x--\r\n"),
    ("multipart/form-data; boundary=", b"--\r\n"),
    ("multipart/form-data; boundary=abc", b"garbage without any boundary"),
    (
        "multipart/form-data; boundary=abc",
        b'--abc\r\nContent-Disposition: form-data; name="a"\r\n'
        b"Content-Transfer-Encoding: rot13\r\n\r\nx\r\n--abc--\r\n",
    ),
    (
        "multipart/form-data; boundary=abc",
        b'--abc\r\nContent-Disposition: form-data; name="a"\r\n'
        b"Content-Encoding: deflate\r\n\r\nnot deflate\r\n--abc--\r\n",
    ),
    ("application/x-www-form-urlencoded", b"email=%ff%fe&password=\xff\xfe"),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"a=b"),
    ("application/x-www-form-urlencoded", b"a=%00&b=\x00"),
    ("text/plain", b"hello"),
    ("application/xml", b"<a/>"),
    ("application/json-patch+json", b"[]"),
    ("", b"\x00\x01\x02"),
]
# What a raw body claims to be: the content types the API and the pages parse.
RAW_CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=abc",
    "multipart/form-data",
]
# Openings of a well-formed body of each kind: drawn bytes after them reach deeper into a parser
# than bytes that fail on the first one.
_RAW_OPENINGS = [
    b"",
    b'{"email": "',
    b"[",
    b"email=",
    b"csrf_token=x&",
    b'--abc\r\nContent-Disposition: form-data; name="email"\r\n\r\n',
    b"--abc\r\n",
]
raw_bodies = st.tuples(
    st.sampled_from(RAW_CONTENT_TYPES),
    st.builds(
        lambda opening, rest: opening + rest,
        st.sampled_from(_RAW_OPENINGS),
        st.binary(max_size=256),
    ),
)
# Routes that end the sessions they are sent with (or all of their account's).
SIGN_OUTS = ("/logout", "/logout-everywhere")
# Query parameter names the pages and the API read.
QUERY_NAMES = [
    "type",
    "modality",
    "start",
    "end",
    "week",
    "day",
    "view",
    "zone",
    "therapist_id",
    "patient_id",
    "role",
    "next",
    "action",
    "outcome",
    "since",
    "until",
    "limit",
    "offset",
    "before_seq",
    "include_cancelled",
    "include_inactive",
    "booked",
    "status",
    "patient",
    "person",
    "page",
]


@dataclass(frozen=True)
class Route:
    """A method and a path template, with the JSON schema of its body when the API documents one."""

    method: str
    path: str
    body_schema: dict[str, Any] | None
    query_names: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        """Whether the route answers JSON."""
        return self.path.startswith("/api/")


@dataclass
class Identity:
    """How a request proves who sends it."""

    name: str
    headers: dict[str, str]


def _encode(text: str) -> str:
    # Lone surrogates become the bytes a careless client would send (not valid UTF-8).
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _api_routes(document: dict[str, Any]) -> list[Route]:
    routes = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            schema = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            query = tuple(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
            routes.append(
                Route(method.upper(), path, _resolve(document, schema) if schema else None, query)
            )
    return routes


def _page_routes(client: TestClient) -> list[Route]:
    found = set()
    for route in client.app.router.routes():
        resource = route.resource
        if resource is None or route.method in ("HEAD", "OPTIONS", "*"):
            continue
        path = resource.canonical
        if path.startswith(("/api/", "/static", "/ws")) or path.endswith("/ws"):
            continue
        found.add((route.method, path))
    return [Route(method, path, None, tuple(QUERY_NAMES)) for method, path in sorted(found)]


def _body_for(schema: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    if schema is None or schema.get("type") != "object":
        return json_values
    fields = {name: json_values for name in schema.get("properties", {})}
    return st.one_of(st.fixed_dictionaries({}, optional=fields), json_values)


def _page_form(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(names) | hostile_text, hostile_text, max_size=6)


# Form field names the pages read.
FORM_NAMES = [
    "email",
    "password",
    "new_password",
    "new_password_again",
    "display_name",
    "time_zone",
    "phone",
    "role",
    "next",
    "type",
    "modality",
    "start",
    "therapist_id",
    "patient_id",
    "reason",
    "request_key",
    "action",
    "day",
    "time",
    "version",
    "kind",
    "end",
    "note",
    "active",
    "d0_0_start",
    "d0_0_end",
    "preferred_contact",
    "emergency_name",
    "emergency_phone",
    "emergency_relationship",
    "duration_minutes",
    "modalities",
    "patient_bookable",
    "display_order",
]


def _drawn_path(draw: Any, route: Route) -> str:
    path = route.path
    for name in re.findall(r"\{([a-z_]+)\}", route.path):
        path = path.replace("{" + name + "}", _encode(draw(path_values)))
    names = list(route.query_names)
    query = (
        draw(st.lists(st.tuples(st.sampled_from(names), hostile_text), max_size=3)) if names else []
    )
    if query:
        path += "?" + "&".join(f"{k}={_encode(v)}" for k, v in query)
    return path


def _headers(identity: Identity, csrf: str | None) -> dict[str, str]:
    headers = dict(identity.headers)
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return headers


async def _send(
    client: TestClient,
    draw: Any,
    route: Route,
    identity: Identity,
    csrf: str | None,
) -> None:
    path = _drawn_path(draw, route)
    headers = _headers(identity, csrf)
    body: bytes | None = None
    if route.method not in ("GET", "DELETE"):
        kind = draw(st.sampled_from(["json", "surrogates", "malformed", "form"]))
        if kind == "malformed":
            content_type, body = draw(st.sampled_from(MALFORMED_BODIES))
            if content_type:
                headers["Content-Type"] = content_type
        elif kind == "form":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            form = draw(_page_form(FORM_NAMES))
            body = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in form.items()).encode()
        else:
            headers["Content-Type"] = "application/json"
            value = draw(_body_for(route.body_schema))
            # ensure_ascii=False keeps lone surrogates raw: encoded, they are not UTF-8.
            text = json.dumps(value, ensure_ascii=kind == "json")
            body = text.encode("utf-8", "surrogatepass")
    await _check(client, route, identity, path, headers, body)


async def _send_raw(
    client: TestClient,
    draw: Any,
    route: Route,
    identity: Identity,
    csrf: str | None,
) -> None:
    # Any method: a body where none is expected must be ignored, or refused, never a 500.
    path = _drawn_path(draw, route)
    headers = _headers(identity, csrf)
    headers["Content-Type"], body = draw(raw_bodies)
    await _check(client, route, identity, path, headers, body)


async def _check(
    client: TestClient,
    route: Route,
    identity: Identity,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
) -> None:
    """Send one request; it must be answered below 500, an API error in the one shape."""
    client.session.cookie_jar.clear()
    response = await client.request(
        route.method,
        URL(path, encoded=True),
        data=body,
        headers=headers,
        allow_redirects=False,
    )
    label = f"{identity.name} {route.method} {path} {headers.get('Content-Type')!r} {body!r}"
    assert response.status < 500, f"{label}: {response.status} {await response.text()}"
    if route.is_api and response.status >= 400 and response.status != 405:
        await assert_error_shape(response)


@dataclass
class Clinic:
    """The app under test (self-registration on, so that route does its work too) and two admins:
    one whose sessions send the requests, one whose sessions the sign-out routes may end."""

    client: TestClient
    admin_email: str
    spare_email: str


@pytest.fixture
async def clinic(aiohttp_client: Any, tmp_path: Path, database_url: str) -> Clinic:
    """A running app with one admin account."""
    settings = base_settings(tmp_path, database_url, self_registration=True)
    client: TestClient = await aiohttp_client(create_app(settings, ManualClock(T0)))
    people = People(client.app[SERVICES])
    admin = await people.make(Role.ADMIN)
    spare = await people.make(Role.ADMIN)
    return Clinic(client, admin.email, spare.email)


async def _sign_in(client: TestClient, email: str) -> SignedIn:
    # Through the service, from an address of its own: the hostile sign-in attempts this test
    # makes from the client's address must not pause the sign-ins it needs.
    caller = Caller(actor=None, ip="hostile-input-test")
    return await accounts.login(client.app[SERVICES], caller, email, PASSWORD)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_request_is_answered_with_a_server_error(
    clinic: Clinic, data: st.DataObject
) -> None:
    client = clinic.client
    document = await (await client.get("/api/v1/openapi.json")).json()
    routes = _api_routes(document) + _page_routes(client)
    assert len(routes) > 60, routes
    bearer = await _sign_in(client, clinic.admin_email)
    cookie = await _sign_in(client, clinic.admin_email)
    for route in routes:
        for name in ("anonymous", "bearer", "cookie"):
            for send in (_send, _send_raw):
                session = cookie if name == "cookie" else bearer
                if route.path.endswith(SIGN_OUTS) and name != "anonymous":
                    # Signing out ends the session it is sent with, and signing out everywhere
                    # every session of its account: were that the admin's, every later request
                    # of the example would meet a 401 before its body is read.
                    session = await _sign_in(client, clinic.spare_email)
                csrf = session.csrf_token if name == "cookie" else None
                await send(client, data.draw, route, _identity(name, session), csrf)


def _identity(name: str, session: SignedIn) -> Identity:
    if name == "bearer":
        return Identity(name, {"Authorization": f"Bearer {session.token}"})
    if name == "cookie":
        return Identity(name, {"Cookie": f"th_session={session.token}"})
    return Identity(name, {})
