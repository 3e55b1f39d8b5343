"""The note pages render for the right person (200) and are 404 for everyone else."""

from __future__ import annotations

import re
from datetime import timedelta

from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.unit_of_work import Services
from tests.conftest import T0, People
from tests.integration.notes.helpers import (
    bearer,
    make_visit,
    open_and_save,
    signable_note,
    write_signed_note,
)


async def _page(client: TestClient, path: str, headers: dict[str, str]) -> tuple[int, str]:
    response = await client.get(path, headers=headers, allow_redirects=False)
    return response.status, await response.text()


async def test_pages_for_the_right_people(
    client: TestClient, services: Services, people: People
) -> None:
    dana = await people.make(Role.THERAPIST, "Dana Therapist")
    sam = await people.make(Role.THERAPIST, "Sam Therapist")
    alice = await people.make(Role.PATIENT, "Alice Patient")
    bob = await people.make(Role.PATIENT, "Bob Patient")
    admin = await people.make(Role.ADMIN)
    await people.assign(alice, dana)
    signed_visit = await make_visit(services, alice, dana)
    draft_visit = await make_visit(services, alice, dana, T0 + timedelta(days=2), status="booked")
    dana_h = await bearer(client, dana)
    await write_signed_note(client, dana_h, signed_visit, signable_note())
    await open_and_save(client, dana_h, draft_visit, signable_note())
    sam_h, alice_h, bob_h, admin_h = [await bearer(client, p) for p in (sam, alice, bob, admin)]

    # The editor: the visit's therapist only, as a page that loads its script (no inline script).
    status, html = await _page(client, f"/visits/{draft_visit}/note", dana_h)
    assert status == 200
    assert 'src="/static/js/note-page.js"' in html and 'type="module"' in html
    assert f'data-appointment-id="{draft_visit}"' in html
    assert re.search(r'<meta name="csrf-token" content="[^"]*">', html)
    assert "<script>" not in html
    for other in (sam_h, alice_h, admin_h):
        assert (await _page(client, f"/visits/{draft_visit}/note", other))[0] == 404

    # The summary: the patient's own signed visit; a draft and other patients get 404.
    status, html = await _page(client, f"/visits/{signed_visit}/summary", alice_h)
    assert status == 200
    assert "Your home exercises" in html and "Bridge" in html
    assert signable_note()["subjective"] not in html
    assert (await _page(client, f"/visits/{draft_visit}/summary", alice_h))[0] == 404
    assert (await _page(client, f"/visits/{signed_visit}/summary", bob_h))[0] == 404

    status, html = await _page(client, "/my/exercises", alice_h)
    assert status == 200 and "Bridge" in html
    status, html = await _page(client, "/my/exercises", bob_h)
    assert status == 200 and "no home exercises yet" in html

    status, html = await _page(client, f"/patients/{alice.id}/history", dana_h)
    assert status == 200 and "Therapeutic exercise" in html
    # Joint mobilization takes 97140's one unit; 97110's 23 minutes are two.
    assert "10 min · 1 unit</span>" in html and "23 min · 2 units</span>" in html
    assert "1 units" not in html
    assert (await _page(client, f"/patients/{alice.id}/history", sam_h))[0] == 404
    assert (await _page(client, f"/patients/{alice.id}/history", bob_h))[0] == 404

    status, html = await _page(
        client, "/admin/reports/techniques?start=2026-03-01&end=2026-03-31", admin_h
    )
    assert status == 200
    assert "<svg" in html and 'class="bar"' in html and "Therapeutic exercise" in html
    assert "1 note, 46 minutes, 3 units." in html
    assert "/api/v1/reports/techniques.csv?start=2026-03-01&amp;end=2026-03-31" in html
    assert (await _page(client, "/admin/reports/techniques", dana_h))[0] == 403
    bad = await _page(client, "/admin/reports/techniques?start=2026-03-09&end=2026-03-01", admin_h)
    assert bad[0] == 422


async def test_the_patients_home_leads_to_each_past_visits_summary(
    client: TestClient, services: Services, people: People
) -> None:
    dana = await people.make(Role.THERAPIST, "Dana Therapist")
    alice = await people.make(Role.PATIENT, "Alice Patient")
    bob = await people.make(Role.PATIENT, "Bob Patient")
    await people.assign(alice, dana)
    signed = await make_visit(services, alice, dana)
    unsigned = await make_visit(services, alice, dana, T0 - timedelta(days=7))
    cancelled = await make_visit(services, alice, dana, T0 - timedelta(days=3), status="cancelled")
    dana_h = await bearer(client, dana)
    await write_signed_note(client, dana_h, signed, signable_note())
    alice_h, bob_h = await bearer(client, alice), await bearer(client, bob)

    status, home = await _page(client, "/", alice_h)
    assert status == 200
    summary = f'href="/visits/{signed}/summary"'
    assert summary in home
    # Newest first; a visit not yet written up says so; a cancelled one is not a past visit.
    assert home.index(summary) < home.index("Dana Therapist is writing up this visit")
    assert f"/visits/{unsigned}/summary" not in home and str(cancelled) not in home
    assert 'href="/my/exercises"' in home
    # The link leads where it says, for her.
    assert (await _page(client, f"/visits/{signed}/summary", alice_h))[0] == 200

    # Another patient's home shows none of it.
    _, other = await _page(client, "/", bob_h)
    assert str(signed) not in other and "After each visit, its summary" in other
