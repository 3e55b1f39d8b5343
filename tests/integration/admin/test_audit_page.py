"""The admin's audit trail page: names instead of ids, filters, keyset paging, dates in the
admin's zone, the CSV export (formula injection guarded) and clear answers to bad filters."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.accounts.service import actor_of
from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services, unit_of_work
from tests.conftest import People, Person
from tests.integration.helpers import csrf_from_page, sign_in

_ROW = re.compile(r'<tr data-seq="(\d+)">')
_OLDER = re.compile(r'href="(\?[^"]*)" rel="next">Older')
_NEWER = re.compile(r'href="(\?[^"]*)" rel="prev">')


def seqs(page: str) -> list[int]:
    """The seq of every row on the page, in page order."""
    return [int(s) for s in _ROW.findall(page)]


def unescape(link: str) -> str:
    return link.replace("&amp;", "&")


async def write(
    services: Services, person: Person, record: AuditRecord, count: int = 1, request: bool = True
) -> None:
    """Audit rows as if person had acted (count rows, one transaction each)."""
    for _ in range(count):
        caller = Caller(
            actor=actor_of(person.user), ip="203.0.113.9", request_id="req-1" if request else None
        )
        async with unit_of_work(services, caller) as uow:
            uow.audit(record)


async def get(client: TestClient, **query: str) -> tuple[int, str]:
    response = await client.get("/admin/audit?" + urlencode(query))
    return response.status, await response.text()


async def test_rows_name_people_and_actions_in_words(
    client: TestClient, people: People, services: Services
) -> None:
    admin = await people.make(Role.ADMIN)
    dana = await people.make(Role.THERAPIST, "Dana Field")
    rosa = await people.make(Role.PATIENT, "Rosa Quill")
    await write(
        services,
        dana,
        AuditRecord("patient.read", "patient", resource_id=str(rosa.id), patient_id=rosa.id),
    )
    token = await csrf_from_page(client, "/login")
    await client.post(
        "/login", data={"email": "nobody@example.test", "password": "x" * 12, "csrf_token": token}
    )
    await sign_in(client, admin)
    status, page = await get(client)
    assert status == 200
    for words in ("Dana Field", "Therapist", "Viewed a patient", "Rosa Quill", "Success"):
        assert words in page
    assert "Signed-out visitor" in page and "Sign-in failed" in page and "Failed" in page
    assert "Signed in" in page
    # No id fragments, no codes.
    for person in (dana, rosa):
        assert str(person.id)[:8] not in page
    rows = page[page.index("<tbody>") : page.index("</tbody>")]
    assert "patient.read" not in rows and "login.success" not in rows
    assert "America/New_York" in page  # times are in the admin's zone, and it says so


async def test_person_filter_pages_by_seq(
    client: TestClient, people: People, services: Services
) -> None:
    admin = await people.make(Role.ADMIN)
    dana = await people.make(Role.THERAPIST, "Dana Field")
    sam = await people.make(Role.THERAPIST, "Sam Other")
    rosa = await people.make(Role.PATIENT, "Rosa Quill")
    read = AuditRecord("patient.read", "patient", patient_id=rosa.id)
    await write(services, dana, read, count=30)
    await write(services, sam, read, count=5)
    await write(services, dana, read, count=30)
    await sign_in(client, admin)

    status, first = await get(client, person="dana FIELD")  # a piece of the name, any case
    assert status == 200
    assert 'value="dana FIELD"' in first  # the filter keeps its value
    first_seqs = seqs(first)
    assert len(first_seqs) == 50 and first_seqs == sorted(first_seqs, reverse=True)
    assert "Sam Other" not in first
    assert _NEWER.search(first) is None
    older = _OLDER.search(first)
    assert older is not None
    assert f"before={first_seqs[-1]}" in older.group(1)

    second = await (await client.get("/admin/audit" + unescape(older.group(1)))).text()
    second_seqs = seqs(second)
    assert len(second_seqs) == 10 and max(second_seqs) < min(first_seqs)
    assert _OLDER.search(second) is None
    newer = _NEWER.search(second)
    assert newer is not None
    back = await (await client.get("/admin/audit" + unescape(newer.group(1)))).text()
    assert seqs(back) == first_seqs

    # By email as well, and the audit rows the page reads are the filtered person's only.
    _, by_email = await get(client, person=sam.email.upper())
    assert len(seqs(by_email)) == 5


async def test_patient_action_and_outcome_filters(
    client: TestClient, people: People, services: Services
) -> None:
    admin = await people.make(Role.ADMIN)
    dana = await people.make(Role.THERAPIST, "Dana Field")
    rosa = await people.make(Role.PATIENT, "Rosa Quill")
    ivan = await people.make(Role.PATIENT, "Ivan Stone")
    await write(services, dana, AuditRecord("patient.read", "patient", patient_id=rosa.id))
    await write(services, dana, AuditRecord("patient.read", "patient", patient_id=ivan.id))
    await write(
        services,
        dana,
        AuditRecord("note.read", "note", outcome="denied", patient_id=ivan.id),
    )
    await sign_in(client, admin)

    _, page = await get(client, patient="ivan")
    # Her account's creation, the read and the refused note read.
    assert len(seqs(page)) == 3 and "Rosa Quill" not in page
    _, page = await get(client, patient="ivan", action="patient.read")
    assert len(seqs(page)) == 1
    assert '<option value="patient.read" selected>' in page
    _, page = await get(client, patient="ivan", outcome="denied")
    assert len(seqs(page)) == 1 and "Viewed a visit note" in page and "Denied" in page
    # A therapist's name is not a patient: the patient filter looks at patients only.
    _, page = await get(client, patient="dana")
    assert seqs(page) == []


async def test_date_range_is_whole_days_in_the_admins_zone(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    admin = await people.make(Role.ADMIN)  # America/New_York: UTC-5 in early March
    dana = await people.make(Role.THERAPIST, "Dana Field")
    read = AuditRecord("account.read", "user")
    clock.set(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))  # 10:00 on the 3rd in New York
    await write(services, dana, read, count=2)
    clock.set(datetime(2026, 3, 5, 4, 30, tzinfo=UTC))  # 23:30 on the 4th in New York
    await write(services, dana, read, count=3)
    clock.set(datetime(2026, 3, 5, 15, 0, tzinfo=UTC))  # the 5th
    await write(services, dana, read, count=4)
    clock.set(datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    await sign_in(client, admin)

    def count(page: str) -> int:
        return len(seqs(page))

    _, page = await get(client, person="dana", date_from="2026-03-04", date_to="2026-03-04")
    assert count(page) == 3
    assert 'value="2026-03-04"' in page
    _, page = await get(client, person="dana", date_from="2026-03-05")
    assert count(page) == 4
    _, page = await get(client, person="dana", date_to="2026-03-04")
    assert count(page) == 5
    _, page = await get(client, person="dana", date_from="2026-03-03", date_to="2026-03-05")
    assert count(page) == 9
    assert "Tue 03 Mar 2026, 10:00:00" in page  # a readable local time


async def test_csv_export_has_names_and_guards_formulas(
    client: TestClient, people: People, services: Services
) -> None:
    admin = await people.make(Role.ADMIN)
    dana = await people.make(Role.THERAPIST, "Dana Field")
    sly = await people.make(Role.PATIENT, '=HYPERLINK("http://evil.test","x")')
    minus = await people.make(Role.PATIENT, "-2+3")
    await write(services, dana, AuditRecord("patient.read", "patient", patient_id=sly.id))
    await write(services, dana, AuditRecord("patient.read", "patient", patient_id=minus.id))
    await sign_in(client, admin)

    page = await (await client.get("/admin/audit?person=dana")).text()
    assert 'href="/admin/audit.csv?person=dana"' in page
    response = await client.get("/admin/audit.csv?person=dana")
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="audit-trail-\d{8}-\d{4}\.csv"',
        response.headers["Content-Disposition"],
    )
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0][:7] == [
        "Sequence",
        "Time (America/New_York)",
        "Person",
        "Person email",
        "Role",
        "Action",
        "Action code",
    ]
    body = rows[1:]
    assert len(body) == 2
    assert {r[2] for r in body} == {"Dana Field"}
    assert {r[4] for r in body} == {"Therapist"}
    assert {r[5] for r in body} == {"Viewed a patient"}
    assert {r[7] for r in body} == {"'" + sly.user.display_name, "'-2+3"}
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), row

    # The download is itself audited, by the admin, with the filter it used.
    async with services.sessions() as session:
        last = (
            await session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        ).one()
    assert (last.action, last.actor_id, last.details["person"]) == (
        "audit.export",
        admin.id,
        "dana",
    )
    assert last.details["count"] == 2


async def test_reading_the_trail_is_audited(
    client: TestClient, people: People, services: Services
) -> None:
    admin = await people.make(Role.ADMIN)
    rosa = await people.make(Role.PATIENT, "Rosa Quill")
    await sign_in(client, admin)
    status, _ = await get(client, patient="rosa quill", outcome="denied")
    assert status == 200
    async with services.sessions() as session:
        last = (
            await session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        ).one()
    assert (last.action, last.actor_id) == ("audit.search", admin.id)
    # The one patient the search named is the row's patient: her own history shows the look-up.
    assert last.patient_id == rosa.id
    assert last.details["outcome"] == "denied"


async def test_bad_filters_get_a_clear_message_not_a_500(
    client: TestClient, people: People, services: Services
) -> None:
    admin = await people.make(Role.ADMIN)
    await sign_in(client, admin)
    cases = {
        "date_from=2026-13-40": "From: use a date",
        "date_to=yesterday": "To: use a date",
        "date_from=1900-01-01": "From: choose a date between",
        "date_to=9999-12-31": "To: choose a date between",
        "date_from=2026-03-05&date_to=2026-03-04": "before the From date",
        "person=dana%00": "Person: type part of a name",
        "patient=" + "x" * 500: "Patient: type part of a name",
        "action=login": "Action: choose one from the list",
        "action=patient.read%00": "Action: choose one from the list",
        "outcome=sideways": "Outcome: choose",
        "before=99999999999999999999999": "That page of the trail does not exist",
        "after=-3": "That page of the trail does not exist",
        "before=5&after=3": "That page of the trail does not exist",
        "page=2": "Unknown filter: page.",
    }
    for query, message in cases.items():
        for path in ("/admin/audit", "/admin/audit.csv"):
            response = await client.get(f"{path}?{query}")
            assert response.status == 400, (path, query)
            assert response.content_type == "text/html", (path, query)
            text = await response.text()
            assert message in text, (path, query)
            assert 'role="alert"' in text


async def test_system_rows_are_named_system(
    client: TestClient, people: People, services: Services
) -> None:
    admin = await people.make(Role.ADMIN)
    async with unit_of_work(services, Caller(actor=None, ip="local")) as uow:
        uow.audit(AuditRecord("appointment.mark_no_show", "appointment"))
    await sign_in(client, admin)
    _, page = await get(client, action="appointment.mark_no_show")
    assert len(seqs(page)) == 1
    assert '<td data-label="Who">System</td>' in page
    assert "Marked an appointment as a no-show" in page


async def test_after_the_newest_row_is_an_empty_page(
    client: TestClient, people: People, services: Services
) -> None:
    admin = await people.make(Role.ADMIN)
    await sign_in(client, admin)
    status, page = await get(client, after=str(2**62))
    assert status == 200 and seqs(page) == [] and "No events match." in page
