"""A forgotten password, set again through a link sent by email (through a real SMTP server):
the link arrives once and works once, the old password stops working and the new one works,
every session of the account ends, an expired, used or unknown link is refused in words, the
asking page answers the same bytes whether or not an account has the address, the limits send
nothing more while answering the same, two submissions of one link never both win, bad input is
a clear 4xx, and neither the database nor the audit trail holds a token or a password."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from aiohttp.web import Application
from sqlalchemy import select, update

from signaling import CloseCode
from telehealth.accounts import password_reset
from telehealth.accounts.models import PasswordResetToken, Role, User
from telehealth.accounts.rules import (
    RESET_LINKS_PER_ACCOUNT,
    RESET_REQUESTS_PER_ADDRESS,
    RESET_WINDOW,
)
from telehealth.actors import Caller
from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.config import Settings
from telehealth.notifications.dispatcher import DISPATCHER
from telehealth.notifications.models import OutboxMessage
from telehealth.tokens import hash_token
from telehealth.unit_of_work import Services
from tests.conftest import People, Person, login
from tests.integration.helpers import csrf_from_page
from tests.integration.mail import Mailbox, smtp_settings
from tests.integration.visits.support import pair, virtual_visit
from tests.integration.visits.test_revoked_access import _in_the_visit, watch

FORGOT = "/password/forgot"
SENT_WORDS = "If an account uses that address, we have sent it a link. It works for 15 minutes."
NEW = "a brand new password"
_LINK = re.compile(r"(http://\S+/password/reset/)(\S+)")


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_server: tuple[Mailbox, int]) -> Settings:
    """The app under test sends through the test SMTP server."""
    return smtp_settings(tmp_path, database_url, smtp_server[1], clinic_phone="555-0100")


async def _ask(client: TestClient, email: str) -> ClientResponse:
    """Ask for a link through the page, as a browser does (not following the redirect)."""
    token = await csrf_from_page(client, FORGOT)
    return await client.post(
        FORGOT, data={"csrf_token": token, "email": email}, allow_redirects=False
    )


async def _asked(client: TestClient, email: str) -> None:
    response = await _ask(client, email)
    assert (response.status, response.headers["Location"]) == (303, FORGOT + "?sent=1")


async def _deliver(app: Application) -> None:
    await app[DISPATCHER].dispatch_due()


def _link_in(message: EmailMessage) -> str:
    """The path of the reset link in an email; the same link in both bodies."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    [found] = {match.group(0) for match in _LINK.finditer(text.get_content())}
    assert found in html.get_content()
    return "/password/reset/" + found.rsplit("/", 1)[-1]


async def _reset(
    client: TestClient, path: str, new: str = NEW, again: str | None = None
) -> ClientResponse:
    token = await csrf_from_page(client, FORGOT)
    return await client.post(
        path,
        data={
            "csrf_token": token,
            "new_password": new,
            "new_password_again": new if again is None else again,
        },
        allow_redirects=False,
    )


async def _signs_in(client: TestClient, person: Person, password: str) -> int:
    client.session.cookie_jar.clear()
    response = await client.post(
        "/api/v1/auth/login", json={"email": person.email, "password": password}
    )
    return response.status


async def _events(services: Services, action: str) -> list[AuditEvent]:
    async with services.sessions() as session:
        return list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )


async def _outbox(services: Services) -> list[OutboxMessage]:
    async with services.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.dedupe_key)
            )
        )


# --- the whole way -------------------------------------------------------------------------------


async def test_a_link_arrives_once_and_works_once(
    client: TestClient, app: Application, people: People, services: Services, mailbox: Mailbox
) -> None:
    maria = await people.make(Role.PATIENT, "Maria Lopez")
    other_device = await login(client, maria)
    client.session.cookie_jar.clear()

    login_page = await (await client.get("/login")).text()
    assert '<a href="/password/forgot">Forgot your password?</a>' in login_page
    form = await (await client.get(FORGOT)).text()
    assert 'autocomplete="email"' in form and "Email me a link" in form
    await _asked(client, maria.email.upper())  # as typed: the address is not case-sensitive
    sent = await client.get(FORGOT + "?sent=1")
    assert sent.status == 200 and SENT_WORDS in await sent.text()

    await _deliver(app)
    await _deliver(app)  # a second pass sends nothing more
    [message] = mailbox.messages
    assert message["To"] == maria.email
    assert message["Subject"] == "Armor Physical Therapy: Set a new password"
    assert "Armor Physical Therapy" in str(message["From"])
    text = message.get_body(("plain",))
    assert text is not None
    words = " ".join(text.get_content().split())
    assert "Hello Maria Lopez," in words
    assert "The link works for 15 minutes, and only once." in words
    assert "If you did not ask for this, you can ignore this email." in words
    assert "Call us at 555-0100" in words
    path = _link_in(message)
    assert f"{services.settings.public_url}{path}" in text.get_content()

    # The link opens the form: the policy in words, both fields new-password.
    opened = await client.get(path)
    page = await opened.text()
    assert opened.status == 200, page
    assert opened.headers["Referrer-Policy"] == "same-origin"  # the link goes to no other site
    assert "at least 10 characters" in page and "cannot be your email address" in page
    assert page.count('autocomplete="new-password"') == 2

    done = await _reset(client, path)
    assert (done.status, done.headers["Location"]) == (303, "/login?password=reset")
    signed_out = await (await client.get(done.headers["Location"])).text()
    assert "Your password is changed. Please sign in." in signed_out
    assert "Your password is changed" not in await (await client.get("/login")).text()

    assert await _signs_in(client, maria, maria.password) == 401
    assert await _signs_in(client, maria, NEW) == 200
    # The session signed in before the reset is over.
    assert (await client.get("/api/v1/me", headers=other_device)).status == 401

    # Once only: the link now says so, and posting it again changes nothing.
    client.session.cookie_jar.clear()
    again = await client.get(path)
    assert again.status == 410
    assert "This link has already been used." in await again.text()
    second = await _reset(client, path, "yet another password")
    assert second.status == 410
    assert await _signs_in(client, maria, NEW) == 200
    assert len(mailbox.messages) == 1

    [asked] = await _events(services, "account.password_reset_request")
    assert (asked.outcome, asked.resource_id, asked.patient_id) == (
        "success",
        str(maria.id),
        maria.id,
    )
    done_events = await _events(services, "account.password_reset")
    assert [(e.outcome, e.details) for e in done_events] == [
        ("success", {"sessions_ended": 1}),
        ("denied", {"reason": "used"}),
    ]


async def test_the_database_and_the_trail_hold_no_token_or_password(
    client: TestClient, app: Application, people: People, services: Services, mailbox: Mailbox
) -> None:
    maria = await people.make(Role.PATIENT)
    await _asked(client, maria.email)
    await _deliver(app)
    path = _link_in(mailbox.messages[0])
    token = path.rsplit("/", 1)[-1]
    async with services.sessions() as session:
        [stored] = list(await session.scalars(select(PasswordResetToken)))
    assert stored.token_hash == hash_token(token) != token
    assert stored.expires_at - stored.created_at == timedelta(minutes=15)
    assert stored.used_at is None and stored.user_id == maria.id

    await _reset(client, path, "too short", "too short")
    await _reset(client, path)
    async with services.sessions() as session:
        events = list(await session.scalars(select(AuditEvent)))
        spent = await session.get(PasswordResetToken, hash_token(token))
    assert spent is not None and spent.used_at is not None
    dumped = json.dumps([[e.action, e.resource_id, e.details] for e in events])
    for secret in (token, hash_token(token), NEW, "too short", maria.password):
        assert secret not in dumped
    assert [e.details for e in await _events(services, "account.password_reset")] == [
        {"reason": "policy"},
        {"sessions_ended": 0},
    ]


async def test_an_expired_link_is_refused_in_words(
    client: TestClient, app: Application, people: People, clock: ManualClock, mailbox: Mailbox
) -> None:
    maria = await people.make(Role.PATIENT)
    await _asked(client, maria.email)
    await _deliver(app)
    path = _link_in(mailbox.messages[0])
    assert (await client.get(path)).status == 200

    clock.advance(timedelta(minutes=16))
    opened = await client.get(path)
    page = await opened.text()
    assert opened.status == 410
    assert "This link has run out. Each link works for 15 minutes." in page
    assert 'href="/password/forgot"' in page and 'type="password"' not in page
    refused = await _reset(client, path)
    assert refused.status == 410 and "has run out" in await refused.text()
    assert await _signs_in(client, maria, maria.password) == 200
    assert await _signs_in(client, maria, NEW) == 401


async def test_a_new_link_withdraws_the_unsent_email_and_one_reset_spends_every_link(
    client: TestClient, app: Application, people: People, services: Services, mailbox: Mailbox
) -> None:
    maria = await people.make(Role.PATIENT)
    # Two links asked before the first email left: it is replaced. (Services that do not wake
    # the background dispatcher, which polls hourly here, so nothing leaves between the two.)
    quiet = replace(services, messages_queued=lambda: None)
    for _ in range(2):
        await password_reset.request_reset(quiet, Caller(actor=None, ip="127.0.0.1"), maria.email)
    await _deliver(app)
    statuses = [(m.kind, m.status) for m in await _outbox(services)]
    assert statuses == [("password_reset", "withdrawn"), ("password_reset", "sent")]
    [first] = mailbox.messages
    await _asked(client, maria.email)  # the first email had left: both links work
    await _deliver(app)
    assert len(mailbox.messages) == 2
    older, newer = _link_in(first), _link_in(mailbox.messages[1])
    assert older != newer

    assert (await _reset(client, newer)).status == 303
    # The password it was sent to replace is gone: so is the older link.
    assert (await client.get(older)).status == 410
    assert (await _reset(client, older, "the older link's try")).status == 410
    assert await _signs_in(client, maria, NEW) == 200


# --- nothing told to a stranger ------------------------------------------------------------------


async def test_known_and_unknown_addresses_get_the_same_bytes(
    client: TestClient, app: Application, people: People, services: Services, mailbox: Mailbox
) -> None:
    maria = await people.make(Role.PATIENT)
    closed = await people.make(Role.PATIENT)
    async with services.sessions() as session:
        await session.execute(update(User).where(User.id == closed.id).values(is_active=False))
        await session.commit()
    therapist = await people.make(Role.THERAPIST)

    answers = []
    for email in (maria.email, "nobody-here@example.test", closed.email, therapist.email):
        posted = await _ask(client, email)
        followed = await client.get(posted.headers["Location"])
        answers.append(
            (
                posted.status,
                posted.headers["Location"],
                await posted.read(),
                followed.status,
                await followed.read(),
            )
        )
    assert len(set(answers)) == 1, answers
    assert SENT_WORDS.encode() in answers[0][4]

    await _deliver(app)
    assert sorted(m["To"] for m in mailbox.messages) == sorted([maria.email, therapist.email])
    # Only accounts are audited; the closed one as refused. A staff account names no patient.
    asked = await _events(services, "account.password_reset_request")
    assert [(e.resource_id, e.outcome, e.details) for e in asked] == [
        (str(maria.id), "success", {}),
        (str(closed.id), "denied", {"reason": "inactive"}),
        (str(therapist.id), "success", {}),
    ]
    assert asked[2].patient_id is None


async def test_the_limits_send_nothing_more_and_answer_the_same(
    client: TestClient,
    app: Application,
    people: People,
    services: Services,
    clock: ManualClock,
    mailbox: Mailbox,
) -> None:
    maria = await people.make(Role.PATIENT)
    first = await _ask(client, maria.email)
    expected = (first.status, first.headers["Location"], await first.read())
    await _deliver(app)
    for _ in range(RESET_LINKS_PER_ACCOUNT - 1):
        await _asked(client, maria.email)
        await _deliver(app)
    assert len(mailbox.messages) == RESET_LINKS_PER_ACCOUNT

    for _ in range(2):
        over = await _ask(client, maria.email)
        assert (over.status, over.headers["Location"], await over.read()) == expected
    await _deliver(app)
    assert len(mailbox.messages) == RESET_LINKS_PER_ACCOUNT
    asked = await _events(services, "account.password_reset_request")
    assert [e.details for e in asked[RESET_LINKS_PER_ACCOUNT:]] == [{"reason": "rate_limited"}] * 2

    # The limit does not touch signing in, and after the window links come again.
    assert await _signs_in(client, maria, maria.password) == 200
    clock.advance(RESET_WINDOW)
    await _asked(client, maria.email)
    await _deliver(app)
    assert len(mailbox.messages) == RESET_LINKS_PER_ACCOUNT + 1


async def test_one_client_asking_for_many_addresses_is_limited(
    client: TestClient, app: Application, people: People, mailbox: Mailbox
) -> None:
    maria = await people.make(Role.PATIENT)
    for n in range(RESET_REQUESTS_PER_ADDRESS):
        await _asked(client, f"guess{n}@example.test")
    # From the same client, even a real account's link is not sent now; the answer is the same.
    await _asked(client, maria.email)
    await _deliver(app)
    assert mailbox.messages == []


# --- spending a link -----------------------------------------------------------------------------


async def test_two_submissions_of_one_link_at_once_exactly_one_wins(
    client: TestClient, app: Application, people: People, services: Services, mailbox: Mailbox
) -> None:
    maria = await people.make(Role.PATIENT)
    await _asked(client, maria.email)
    await _deliver(app)
    path = _link_in(mailbox.messages[0])
    choices = ["first new password here", "second new password here"]
    answers = await asyncio.gather(*(_reset(client, path, choice) for choice in choices))
    assert sorted(a.status for a in answers) == [303, 410], [a.status for a in answers]
    winner = choices[[a.status for a in answers].index(303)]
    loser = choices[1 - choices.index(winner)]
    assert await _signs_in(client, maria, winner) == 200
    assert await _signs_in(client, maria, loser) == 401
    outcomes = sorted(e.outcome for e in await _events(services, "account.password_reset"))
    assert outcomes == ["denied", "success"]


async def test_the_reset_lifts_a_sign_in_lock_and_ends_every_session(
    client: TestClient, app: Application, people: People, services: Services, mailbox: Mailbox
) -> None:
    maria = await people.make(Role.PATIENT)
    sessions = [await login(client, maria) for _ in range(2)]
    client.session.cookie_jar.clear()
    for _ in range(services.settings.login_max_failures):
        await _signs_in(client, maria, "a wrong guess")
    assert await _signs_in(client, maria, maria.password) == 429

    await _asked(client, maria.email)
    await _deliver(app)
    done = await _reset(client, _link_in(mailbox.messages[0]))
    assert done.status == 303
    for headers in sessions:
        assert (await client.get("/api/v1/me", headers=headers)).status == 401
    assert await _signs_in(client, maria, NEW) == 200
    [event] = await _events(services, "account.password_reset")
    assert event.details == {"sessions_ended": 2}


async def test_the_form_says_what_is_wrong_and_the_link_still_works(
    client: TestClient, app: Application, people: People, mailbox: Mailbox
) -> None:
    maria = await people.make(Role.PATIENT)
    await _asked(client, maria.email)
    await _deliver(app)
    path = _link_in(mailbox.messages[0])
    cases = [
        (("", ""), "new_password", "Please type a new password."),
        ((NEW, ""), "new_password_again", "are not the same"),
        ((NEW, NEW + "!"), "new_password_again", "are not the same"),
        (("too short", "too short"), "new_password", "at least 10 characters"),
        ((f" {maria.email.upper()} ",) * 2, "new_password", "cannot be the email address"),
        (("x" * 257, "x" * 257), "new_password", "That password is too long."),
    ]
    for (new, again), field, words in cases:
        refused = await _reset(client, path, new, again)
        page = await refused.text()
        assert refused.status == 422, (new, page)
        assert words in page, (new, page)
        assert f'<p class="field-problem" id="{field}-problem">' in page
        assert re.search(r'type="password"[^>]*value=', page) is None
        assert new not in page or not new.strip()
    assert (await _reset(client, path)).status == 303


async def test_bad_input_is_a_clear_4xx(
    client: TestClient, app: Application, people: People, services: Services, mailbox: Mailbox
) -> None:
    maria = await people.make(Role.PATIENT)
    # Links that are not links: words and a way on, never a fault, nothing looked up or spent.
    for path in (
        "/password/reset/short",
        "/password/reset/" + "A" * 200,
        "/password/reset/%00" + "A" * 42,
        "/password/reset/" + "A" * 42 + "%00",
        "/password/reset/" + "%C3%A9" * 43,
        "/password/reset/" + "B" * 43,  # the right shape, but never issued
    ):
        opened = await client.get(path)
        page = await opened.text()
        assert opened.status == 404, (path, page)
        assert "We do not know this link." in page and 'href="/password/forgot"' in page
        posted = await _reset(client, path)
        assert posted.status == 404, path

    # The asking form: an empty or impossible address is named, and what was typed comes back.
    token = await csrf_from_page(client, FORGOT)
    for data, words in (
        ({}, "Please type your email address."),
        ({"email": "   "}, "Please type your email address."),
        ({"email": "not an address"}, "does not look like an email address"),
        ({"email": "nul\u0000@example.test"}, "control character"),  # refused for every form
        ({"email": "x" * 300 + "@example.test"}, "does not look like an email address"),
    ):
        refused = await client.post(FORGOT, data={"csrf_token": token, **data})
        page = await refused.text()
        assert refused.status == 422, (data, page)
        assert words in page
    kept = await client.post(FORGOT, data={"csrf_token": token, "email": "not an address"})
    assert 'value="not an address"' in await kept.text()
    assert (await client.post(FORGOT, data={"email": maria.email})).status == 403  # no CSRF
    broken = await client.post(
        FORGOT,
        data=b"--x\r\nnot a part",
        headers={"Content-Type": "multipart/form-data", "X-CSRF-Token": token},
    )
    assert broken.status == 400

    # A real link: a NUL in the password is refused as in every form, and the link lives on.
    await _asked(client, maria.email)
    await _deliver(app)
    [message] = mailbox.messages
    path = _link_in(message)
    nul = await _reset(client, path, "nul\u0000inside it")
    assert nul.status == 422 and "control character" in await nul.text()
    forged = await client.post(path, data={"new_password": NEW, "new_password_again": NEW})
    assert forged.status == 403
    assert (await client.get(path)).status == 200
    assert await _signs_in(client, maria, maria.password) == 200
    assert await _outbox(services) != []


async def test_the_accounts_visit_socket_closes(
    client: TestClient,
    app: Application,
    people: People,
    services: Services,
    clock: ManualClock,
    mailbox: Mailbox,
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    async with aiohttp.ClientSession() as http:
        # The patient is in the visit on another device when the password is set again.
        therapist_ch, patient_ch = await _in_the_visit(
            http, client, client, visit, patient, therapist
        )
        watched = watch(patient_ch)
        client.session.cookie_jar.clear()
        await _asked(client, patient.email)
        await _deliver(app)
        done = await _reset(client, _link_in(mailbox.messages[-1]))
        assert done.status == 303, await done.text()
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
