"""The signed note as a PDF: for the note's readers only, signed notes only, audited, and it holds
the note's lines (a non-ASCII name included); the GET note API bills with modifiers and POS."""

from __future__ import annotations

import io
import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from pypdf import PdfReader
from sqlalchemy import select, update

from telehealth.accounts.models import Role, User
from telehealth.audit.models import AuditEvent
from telehealth.unit_of_work import Services
from tests.conftest import T0, People
from tests.integration.helpers import assert_error_shape
from tests.integration.notes.helpers import (
    bearer,
    make_visit,
    note_url,
    ok_json,
    open_and_save,
    signable_note,
    write_signed_note,
)

CATALOG = Path(__file__).resolve().parents[3] / "telehealth" / "catalog" / "data"


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    # Extraction breaks lines where the layout wrapped them: compare without whitespace.
    return "".join("".join(page.extract_text() for page in reader.pages).split())


def _squeezed(text: str) -> str:
    return "".join(text.split())


async def _pdf_audits(services: Services, visit: uuid.UUID) -> list[tuple[str, uuid.UUID | None]]:
    async with services.sessions() as session:
        rows = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "note.pdf", AuditEvent.resource_id == str(visit))
                .order_by(AuditEvent.seq)
            )
        ).all()
    return [(row.outcome, row.actor_id) for row in rows]


async def test_the_signer_downloads_the_signed_note_as_a_pdf(
    client: TestClient, services: Services, people: People
) -> None:
    dana = await people.make(Role.THERAPIST, "Dana Reyes", time_zone="Europe/Berlin")
    zoe = await people.make(Role.PATIENT, "Zoë Müller")
    async with services.sessions() as session:
        await session.execute(
            update(User).where(User.id == zoe.id).values(date_of_birth=date(1961, 7, 14))
        )
        await session.commit()
    visit = await make_visit(services, zoe, dana)
    headers = await bearer(client, dana)
    content = signable_note(subjective="Zoë reports pain ≤ 3/10 after the bridge.")
    await write_signed_note(client, headers, visit, content)
    await ok_json(
        await client.post(
            note_url(visit, "/addenda"),
            json={"reason": "Late entry", "text": "Called Zoë: sleeping better."},
            headers=headers,
        ),
        201,
    )

    response = await client.get(note_url(visit, ".pdf"), headers=headers)
    assert response.status == 200, await response.text()
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="visit-note-{visit}.pdf"'
    )
    data = await response.read()
    assert data.startswith(b"%PDF-")
    text = _text(data)
    expected = [
        "Armor Physical Therapy — Daily note",
        "Patient: Zoë Müller",
        "Date of birth: 14 Jul 1961",
        "Modality: Video visit",
        "Therapist: Dana Reyes",
        content["subjective"],
        content["objective"],
        content["assessment"],
        content["plan"],
        "M16.11 Unilateral primary osteoarthritis, right hip — right",
        "Joint mobilization (CPT 97140) — hip, right — 10 min, 1 unit",
        "Maitland grade: III",
        "Muscles treated: piriformis; gluteus medius",
        "Instrument: stainless steel edge tool",
        "Area treated: lumbar paraspinals",
        "Bridge: 2 sets of 10 repetitions, hold each for 3 seconds",
        "CPT 97140 Manual therapy techniques — 1 unit (23 min) — modifiers 95, GP — POS 10",
        "Signed by Dana Reyes on",
        "Verified",
        "Late entry: Called Zoë: sleeping better.",
    ]
    for line in expected:
        assert _squeezed(line) in text, line
    assert "1units" not in text
    assert await _pdf_audits(services, visit) == [("success", dana.id)]


async def test_the_pdf_is_404_for_everyone_else_and_for_a_draft(
    client: TestClient, services: Services, people: People
) -> None:
    dana = await people.make(Role.THERAPIST, "Dana Therapist")
    sam = await people.make(Role.THERAPIST, "Sam Therapist")
    alice = await people.make(Role.PATIENT, "Alice Patient")
    admin = await people.make(Role.ADMIN)
    await people.assign(alice, dana)
    signed = await make_visit(services, alice, dana)
    draft = await make_visit(
        services, alice, dana, T0 + timedelta(days=2), status="booked", modality="in_clinic"
    )
    dana_h = await bearer(client, dana)
    await write_signed_note(client, dana_h, signed, signable_note())
    await open_and_save(client, dana_h, draft, signable_note())

    for person in (sam, alice, admin):
        response = await client.get(note_url(signed, ".pdf"), headers=await bearer(client, person))
        assert response.status == 404
        await assert_error_shape(response, 404, "not_found")
    response = await client.get(note_url(draft, ".pdf"), headers=dana_h)
    assert response.status == 404
    missing = await client.get(note_url(uuid.uuid4(), ".pdf"), headers=dana_h)
    assert missing.status == 404
    anonymous = await client.get(note_url(signed, ".pdf"))
    assert anonymous.status == 401

    refused = await _pdf_audits(services, signed)
    assert sorted(refused, key=str) == sorted(
        [("denied", sam.id), ("denied", alice.id), ("denied", admin.id)], key=str
    )
    assert await _pdf_audits(services, draft) == [("denied", dana.id)]


async def test_the_note_api_bills_with_modifiers_and_place_of_service(
    client: TestClient, services: Services, people: People
) -> None:
    dana = await people.make(Role.THERAPIST, "Dana Therapist")
    alice = await people.make(Role.PATIENT, "Alice Patient")
    video = await make_visit(services, alice, dana)
    clinic = await make_visit(
        services, alice, dana, T0 + timedelta(days=2), status="booked", modality="in_clinic"
    )
    headers = await bearer(client, dana)

    home = await open_and_save(client, headers, video, signable_note())
    assert [(b["cpt"], b["name"], b["units"], b["modifiers"], b["place_of_service"])
            for b in home["billing"]["lines"]] == [
        ("97110", "Therapeutic exercise", 2, ["95", "GP"], "10"),
        ("97140", "Manual therapy techniques", 1, ["95", "GP"], "10"),
    ]  # fmt: skip
    assert home["billing"]["modifiers"] == ["95", "GP"]
    assert home["billing"]["place_of_service"] == "10"
    assert "patient_location" not in home["content"]

    away = await ok_json(
        await client.put(
            note_url(video),
            json={"version": home["version"], "content": signable_note(patient_location="other")},
            headers=headers,
        )
    )
    assert away["content"]["patient_location"] == "other"
    assert {b["place_of_service"] for b in away["billing"]["lines"]} == {"02"}
    assert away["billing"]["place_of_service_name"] == (
        "Telehealth provided other than in patient's home"
    )

    office = await open_and_save(client, headers, clinic, signable_note(patient_location="home"))
    assert office["billing"]["modifiers"] == ["GP"]
    assert {(tuple(b["modifiers"]), b["place_of_service"]) for b in office["billing"]["lines"]} == {
        (("GP",), "11")
    }

    bad = await client.put(
        note_url(video),
        json={"version": away["version"], "content": signable_note(patient_location="car")},
        headers=headers,
    )
    assert bad.status == 422
    body = await bad.json()
    assert any("patient_location" in d["field"] for d in body["error"]["details"]), body

    third = await make_visit(services, alice, dana, T0 + timedelta(days=4))
    signed = await write_signed_note(client, headers, third, signable_note())
    assert signed["signature"]["signer_name"] == "Dana Therapist"
    assert signed["signature"]["verified"] is True


# Every technique a daily note takes, each with the parameters a therapist records, and the words
# each parameter must be printed as.
EVERY_TECHNIQUE: list[tuple[dict[str, Any], list[str]]] = [
    (
        {
            "technique": "therapeutic-exercise",
            "parameters": {
                "exercises": [
                    {
                        "exercise": "bird-dog",
                        "sets": 3,
                        "repetitions": 12,
                        "per_day": 1,
                        "per_week": 5,
                    }
                ]
            },
        },
        ["Exercises performed: Bird dog, 3 sets of 12 repetitions, 1 time a day, 5 days a week"],
    ),
    (
        {
            "technique": "neuromuscular-reeducation",
            "parameters": {
                "focus": "balance",
                "exercises": [
                    {
                        "exercise": "dead-bug",
                        "sets": 2,
                        "repetitions": 8,
                        "per_day": 1,
                        "per_week": 7,
                    }
                ],
            },
        },
        ["Focus: balance", "Dead bug, 2 sets of 8 repetitions, 1 time a day, every day"],
    ),
    (
        {
            "technique": "therapeutic-activities",
            "parameters": {"activities": ["sit to stand", "stairs"]},
        },
        ["Functional activities: sit to stand; stairs"],
    ),
    (
        {"technique": "self-care-training", "parameters": {"topics": ["sleeping position"]}},
        ["Topics covered: sleeping position"],
    ),
    (
        {"technique": "manual-therapy", "parameters": {"description": "soft tissue massage"}},
        ["Technique used: soft tissue massage"],
    ),
    (
        {
            "technique": "joint-mobilization",
            "parameters": {"joint": "hip", "grade": "IV", "direction": "posterior glide"},
        },
        ["Joint or segment: hip", "Maitland grade: IV", "Direction or technique: posterior glide"],
    ),
    (
        {"technique": "myofascial-release", "parameters": {"muscles": ["piriformis"]}},
        ["Muscles treated: piriformis"],
    ),
    (
        {
            "technique": "iastm",
            "parameters": {"instrument": "composite edge tool", "area": "lateral thigh"},
        },
        ["Instrument: composite edge tool", "Area treated: lateral thigh"],
    ),
    (
        {"technique": "group-therapy", "parameters": {"group_size": 3}},
        ["Patients in the group: 3"],
    ),
]


async def test_every_technique_and_its_parameters_are_in_the_pdf(
    client: TestClient, services: Services, people: People
) -> None:
    dana = await people.make(Role.THERAPIST, "Dana Reyes")
    zoe = await people.make(Role.PATIENT, "Zoe Miller")
    visit = await make_visit(services, zoe, dana, minutes=90)
    headers = await bearer(client, dana)
    interventions = [
        {"region": "hip", "side": "right", "minutes": 8, **line} for line, _ in EVERY_TECHNIQUE
    ]
    await write_signed_note(client, headers, visit, signable_note(interventions=interventions))

    response = await client.get(note_url(visit, ".pdf"), headers=headers)
    assert response.status == 200, await response.text()
    text = _text(await response.read())
    names = {
        t["id"]: (t["name"], t["cpt"])
        for t in json.loads((CATALOG / "techniques.json").read_text())["techniques"]
    }
    for line, words in EVERY_TECHNIQUE:
        name, cpt = names[line["technique"]]
        assert _squeezed(f"{name} (CPT {cpt}) — hip, right — 8 min") in text, name
        for word in words:
            assert _squeezed(word) in text, word
