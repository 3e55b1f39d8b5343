"""A signed-in person changes their own password, through the API and the page: the old password
stops working and the new one works, every other session ends (its visit socket closes) while
the changing one stays, a wrong current password counts against the sign-in lock, the policy of
registration applies, bad input is a clear 4xx, and the audit trail holds no password."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from signaling import CloseCode
from telehealth.accounts.models import LoginThrottle, Role, User
from telehealth.accounts.rules import account_throttle_key
from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services
from tests.conftest import People, Person, login
from tests.integration.helpers import assert_error_shape, csrf_from_page, sign_in
from tests.integration.visits.support import pair, virtual_visit
from tests.integration.visits.test_revoked_access import _in_the_visit, watch

CHANGE = "/api/v1/me/password"
LOGIN = "/api/v1/auth/login"
NEW = "a new password, long enough"


async def _signs_in(client: TestClient, person: Person, password: str) -> int:
    """The status of a sign-in from a fresh client (no cookie, no trusted device)."""
    client.session.cookie_jar.clear()
    response = await client.post(LOGIN, json={"email": person.email, "password": password})
    return response.status


async def _stored_hash(services: Services, person: Person) -> str:
    async with services.sessions() as session:
        user = await session.get(User, person.id)
        assert user is not None
        return user.password_hash


async def _count(services: Services, person: Person) -> int:
    """The account's sign-in throttle count (0 when there is none)."""
    async with services.sessions() as session:
        row = await session.get(LoginThrottle, account_throttle_key(person.email))
    return 0 if row is None else row.failures


async def _changes(services: Services, person: Person) -> list[AuditEvent]:
    async with services.sessions() as session:
        return list(
            await session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.action == "account.password_change",
                    AuditEvent.resource_id == str(person.id),
                )
                .order_by(AuditEvent.seq)
            )
        )


async def test_the_api_changes_it_and_ends_only_the_other_sessions(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    other = await login(client, patient)
    mine = await login(client, patient)
    before = await _stored_hash(services, patient)

    response = await client.post(
        CHANGE, json={"current_password": patient.password, "new_password": NEW}, headers=mine
    )
    assert response.status == 204, await response.text()

    # This session goes on; the other one is over.
    assert (await client.get("/api/v1/me", headers=mine)).status == 200
    ended = await client.get("/api/v1/me", headers=other)
    await assert_error_shape(ended, 401, "invalid_token")
    # The old password no longer signs in; the new one does.
    assert await _signs_in(client, patient, patient.password) == 401
    assert await _signs_in(client, patient, NEW) == 200
    stored = await _stored_hash(services, patient)
    assert stored != before and stored.startswith("$argon2id$")

    [audited] = await _changes(services, patient)
    assert (audited.outcome, audited.details) == ("success", {"other_sessions_ended": 1})
    assert (audited.actor_id, audited.patient_id) == (patient.id, patient.id)


async def test_a_wrong_current_password_counts_toward_the_sign_in_lock(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient = await people.make(Role.PATIENT)
    headers = await login(client, patient)
    limit = services.settings.login_max_failures
    before = await _stored_hash(services, patient)

    for n in range(1, limit + 1):
        wrong = await client.post(
            CHANGE,
            json={"current_password": f"wrong guess {n}", "new_password": NEW},
            headers=headers,
        )
        error = await assert_error_shape(wrong, 403, "current_password_wrong")
        assert error["details"] == [
            {"field": "current_password", "problem": "That is not your current password."}
        ]
        assert await _count(services, patient) == n

    # Locked, as sign-in is: even the right password is refused now, without being checked.
    checked = services.passwords.verifications
    locked = await client.post(
        CHANGE, json={"current_password": patient.password, "new_password": NEW}, headers=headers
    )
    error = await assert_error_shape(locked, 429, "login_locked")
    assert locked.headers["Retry-After"] == "900" and error["details"] == {"retry_after": 900}
    assert services.passwords.verifications == checked
    assert await _stored_hash(services, patient) == before
    # The same lock stops a sign-in from elsewhere; the session itself was not ended.
    assert (await client.get("/api/v1/me", headers=headers)).status == 200
    assert await _signs_in(client, patient, patient.password) == 429

    # After the window the right password changes it, and the count starts over. (The session
    # is used once on the way, so it does not end by being idle as long as the lock.)
    clock.advance(timedelta(minutes=14))
    assert (await client.get("/api/v1/me", headers=headers)).status == 200
    clock.advance(timedelta(minutes=1))
    done = await client.post(
        CHANGE, json={"current_password": patient.password, "new_password": NEW}, headers=headers
    )
    assert done.status == 204, await done.text()
    assert await _count(services, patient) == 0

    outcomes = [(e.outcome, e.details) for e in await _changes(services, patient)]
    assert outcomes == [
        *[("denied", {"reason": "wrong_password"})] * limit,
        ("denied", {"reason": "locked", "retry_after": 900}),
        ("success", {"other_sessions_ended": 0}),
    ]


async def test_failed_sign_ins_lock_the_change_too(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    headers = await login(client, patient)
    client.session.cookie_jar.clear()
    for _ in range(services.settings.login_max_failures):
        await client.post(LOGIN, json={"email": patient.email, "password": "wrong password!"})
    locked = await client.post(
        CHANGE, json={"current_password": patient.password, "new_password": NEW}, headers=headers
    )
    await assert_error_shape(locked, 429, "login_locked")


async def test_the_policy_and_bad_bodies_are_refused_without_counting(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    headers = await login(client, patient)
    before = await _stored_hash(services, patient)
    current = patient.password

    policy: list[tuple[dict[str, Any], str]] = [
        ({"current_password": current, "new_password": "too short"}, "new_password"),
        ({"current_password": current, "new_password": "x" * 257}, "new_password"),
        ({"current_password": current, "new_password": patient.email.upper()}, "new_password"),
        ({"current_password": current, "new_password": current}, "new_password"),
        ({"current_password": current, "new_password": "nul\u0000inside it"}, "new_password"),
        ({"current_password": "nul\u0000", "new_password": NEW}, "current_password"),
        ({"current_password": "", "new_password": NEW}, "current_password"),
        ({"new_password": NEW}, "current_password"),
        ({"current_password": current}, "new_password"),
        ({"current_password": current, "new_password": 1234567890}, "new_password"),
        ({"current_password": current, "new_password": NEW, "role": "admin"}, "role"),
    ]
    for body, field in policy:
        refused = await client.post(CHANGE, json=body, headers=headers)
        error = await assert_error_shape(refused, 422, "invalid_input")
        assert isinstance(error["details"], list), (body, error)
        assert field in [d["field"] for d in error["details"]], (body, error)
    same = await client.post(
        CHANGE, json={"current_password": current, "new_password": current}, headers=headers
    )
    assert "different from your current password" in (await same.json())["error"]["message"]
    email = await client.post(
        CHANGE,
        json={"current_password": current, "new_password": f" {patient.email} "},
        headers=headers,
    )
    assert (await email.json())["error"]["message"] == "The password cannot be the email address."

    for raw, content_type, status, code in (
        (b'{"current_password": ', "application/json", 400, "malformed_json"),
        (b"\x00\xff\xfe", "application/json", 400, "malformed_json"),
        (b"", "application/json", 422, "invalid_input"),
        (b"[]", "application/json", 422, "invalid_input"),
        (b'"just a string"', "application/json", 422, "invalid_input"),
        (b"current_password=x&new_password=y", "application/x-www-form-urlencoded", 415, None),
    ):
        refused = await client.post(
            CHANGE, data=raw, headers={**headers, "Content-Type": content_type}
        )
        await assert_error_shape(refused, status, code)

    # None of it checked a password or counted against the account, and nothing changed.
    assert await _count(services, patient) == 0
    assert await _stored_hash(services, patient) == before
    assert (await client.get("/api/v1/me", headers=headers)).status == 200


async def test_signed_out_it_is_refused(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    body = {"current_password": patient.password, "new_password": NEW}
    await assert_error_shape(await client.post(CHANGE, json=body), 401, "not_authenticated")
    forged = await client.post(CHANGE, json=body, headers={"Authorization": "Bearer " + "x" * 43})
    await assert_error_shape(forged, 401, "invalid_token")
    assert await _signs_in(client, patient, patient.password) == 200


async def test_a_cookie_session_needs_its_csrf_token(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    signed_in = await client.post(
        LOGIN, json={"email": patient.email, "password": patient.password}
    )
    csrf = (await signed_in.json())["csrf_token"]
    body = {"current_password": patient.password, "new_password": NEW}
    await assert_error_shape(await client.post(CHANGE, json=body), 403, "csrf_failed")
    assert await _count(services, patient) == 0
    done = await client.post(CHANGE, json=body, headers={"X-CSRF-Token": csrf})
    assert done.status == 204, await done.text()


async def test_the_openapi_document_names_its_errors(client: TestClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"][CHANGE]["post"]
    assert operation["responses"]["default"]["x-error-codes"] == [
        "current_password_wrong",
        "login_locked",
    ]
    assert "204" in operation["responses"]
    schema_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
    assert schema["properties"]["new_password"]["minLength"] == 10


# --- the page ------------------------------------------------------------------------------------

_PROBLEM = re.compile(r'<p class="field-problem" id="([a-z_]+)-problem">')


def _marked(page: str) -> list[str]:
    """The fields the page says are wrong."""
    return _PROBLEM.findall(page)


def _no_password_in(page: str, *passwords: str) -> None:
    for password in passwords:
        assert password not in page
    assert 'type="password"' in page
    assert re.search(r'type="password"[^>]*value=', page) is None


async def test_the_page_changes_it_and_says_so(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT, "Pat Patient")
    other = await login(client, patient)  # another device, signed in before
    client.session.cookie_jar.clear()
    await sign_in(client, patient)

    details = await (await client.get("/me/details")).text()
    assert 'href="/me/password"' in details
    form = await client.get("/me/password")
    page = await form.text()
    assert form.status == 200
    assert 'autocomplete="current-password"' in page
    assert page.count('autocomplete="new-password"') == 2
    assert "at least 10 characters" in page
    token = await csrf_from_page(client, "/me/password")

    changed = await client.post(
        "/me/password",
        data={
            "csrf_token": token,
            "current_password": patient.password,
            "new_password": NEW,
            "new_password_again": NEW,
        },
        allow_redirects=False,
    )
    assert (changed.status, changed.headers["Location"]) == (
        303,
        "/me/details?password=changed",
    )
    confirmed = await (await client.get(changed.headers["Location"])).text()
    assert "Your password is changed. Other devices were signed out." in confirmed
    assert "Your password is changed" not in await (await client.get("/me/details")).text()
    # This browser stays signed in; the other device does not.
    assert (await client.get("/", allow_redirects=False)).status == 200
    assert (await client.get("/api/v1/me", headers=other)).status == 401
    assert await _signs_in(client, patient, NEW) == 200
    [audited] = await _changes(services, patient)
    assert audited.details == {"other_sessions_ended": 1}


async def test_the_page_says_which_field_is_wrong_and_keeps_no_password(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    await sign_in(client, patient)
    token = await csrf_from_page(client, "/me/password")
    current = patient.password

    async def post(current_password: str, new: str, again: str) -> tuple[int, str]:
        response = await client.post(
            "/me/password",
            data={
                "csrf_token": token,
                "current_password": current_password,
                "new_password": new,
                "new_password_again": again,
            },
        )
        return response.status, await response.text()

    cases = [
        (("", NEW, NEW), 422, "current_password", "Please type your current password."),
        ((current, "", ""), 422, "new_password", "Please type a new password."),
        ((current, NEW, NEW + "!"), 422, "new_password_again", "are not the same"),
        ((current, "short one", "short one"), 422, "new_password", "at least 10 characters"),
        ((current, current, current), 422, "new_password", "different from your current"),
        (("not it at all", NEW, NEW), 403, "current_password", "not your current password"),
    ]
    for typed, status_expected, field, words in cases:
        status, page = await post(*typed)
        assert status == status_expected, (typed, page)
        assert _marked(page) == [field], typed
        assert words in page, typed
        assert f'id="{field}"' in page and 'aria-invalid="true"' in page
        _no_password_in(page, *(t for t in typed if t))
    # Only the wrong current password was counted.
    assert await _count(services, patient) == 1

    # Control characters are refused as in every form: a 4xx page, not a fault.
    nul = await client.post(
        "/me/password",
        data={
            "csrf_token": token,
            "current_password": "a\u0000b",
            "new_password": NEW,
            "new_password_again": NEW,
        },
    )
    assert nul.status == 422
    assert "control character" in await nul.text()
    # A form that cannot be read is a 400.
    broken = await client.post(
        "/me/password",
        data=b"--x\r\nnot a part",
        headers={"Content-Type": "multipart/form-data", "X-CSRF-Token": token},
    )
    assert broken.status == 400

    # Locked after the limit: the page says so, with Retry-After.
    for n in range(services.settings.login_max_failures - 1):
        await post(f"wrong guess {n}", NEW, NEW)
    locked = await client.post(
        "/me/password",
        data={
            "csrf_token": token,
            "current_password": current,
            "new_password": NEW,
            "new_password_again": NEW,
        },
    )
    assert locked.status == 429 and locked.headers["Retry-After"] == "900"
    page = await locked.text()
    assert "Please wait 15 minutes" in page and _marked(page) == ["current_password"]
    _no_password_in(page, current, NEW)
    assert await _signs_in(client, patient, current) == 429


async def test_the_page_form_needs_its_csrf_token(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    await sign_in(client, patient)
    before = await _stored_hash(services, patient)
    for token in (None, "forged-token-value"):
        data = {
            "current_password": patient.password,
            "new_password": NEW,
            "new_password_again": NEW,
        }
        if token is not None:
            data["csrf_token"] = token
        forged = await client.post("/me/password", data=data)
        assert forged.status == 403
    assert await _stored_hash(services, patient) == before
    assert await _count(services, patient) == 0


async def test_signed_out_the_page_asks_to_sign_in(client: TestClient) -> None:
    page = await client.get("/me/password", allow_redirects=False)
    assert (page.status, page.headers["Location"]) == (303, "/login?next=/me/password")
    posted = await client.post("/me/password", data={"current_password": "x", "new_password": NEW})
    assert posted.status in (401, 403)


# --- the trail and live visits -------------------------------------------------------------------


async def test_the_audit_trail_holds_no_password(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    headers = await login(client, patient)
    tried = ["wrong guess one", patient.email.upper(), patient.password, NEW]
    for current_password, new_password in (
        (tried[0], NEW),
        (patient.password, tried[1]),
        (patient.password, NEW),
    ):
        await client.post(
            CHANGE,
            json={"current_password": current_password, "new_password": new_password},
            headers=headers,
        )
    new_hash = await _stored_hash(services, patient)
    async with services.sessions() as session:
        events = list(await session.scalars(select(AuditEvent)))
    dumped = json.dumps([[e.action, e.resource_id, e.details] for e in events], ensure_ascii=False)
    for secret in [*tried, new_hash]:
        assert secret not in dumped
    assert "argon2" not in dumped
    assert [(e.outcome, e.details) for e in await _changes(services, patient)] == [
        ("denied", {"reason": "wrong_password"}),
        ("denied", {"reason": "policy"}),
        ("success", {"other_sessions_ended": 0}),
    ]


async def test_the_other_sessions_visit_socket_closes(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    async with aiohttp.ClientSession() as http:
        # The patient is in the visit on another device (the session ticket_for signed in).
        therapist_ch, patient_ch = await _in_the_visit(
            http, client, client, visit, patient, therapist
        )
        watched = watch(patient_ch)
        mine = await login(client, patient)
        response = await client.post(
            CHANGE, json={"current_password": patient.password, "new_password": NEW}, headers=mine
        )
        assert response.status == 204, await response.text()
        await watched.closed_after(time.monotonic())
        assert patient_ch.close_code == CloseCode.REVOKED
        await therapist_ch.close()
    async with services.sessions() as session:
        revoked = list(
            await session.scalars(
                select(AuditEvent.details).where(
                    AuditEvent.action == "visit.access_revoked",
                    AuditEvent.resource_id == str(visit),
                )
            )
        )
    assert revoked == [{"user_id": str(patient.id), "reason": "sessions_ended"}]


async def test_two_changes_at_once_never_both_win(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    headers = await login(client, patient)
    choices = ["first new password here", "second new password here"]
    answers = await asyncio.gather(
        *(
            client.post(
                CHANGE,
                json={"current_password": patient.password, "new_password": choice},
                headers=headers,
            )
            for choice in choices
        )
    )
    statuses = [answer.status for answer in answers]
    # The loser either met the winner's commit before checking (403: no longer the password) or
    # after (409: the hash it checked against is gone); never two passwords both "set".
    assert sorted(statuses) in ([204, 403], [204, 409]), statuses
    winner = choices[statuses.index(204)]
    loser = choices[1 - statuses.index(204)]
    assert await _signs_in(client, patient, loser) == 401
    assert await _signs_in(client, patient, winner) == 200
