"""The notes API: the visit note workflow, patient summaries, exercises and the catalog."""

from __future__ import annotations

import asyncio

from aiohttp import web

from telehealth.catalog.store import CATALOG
from telehealth.error_codes import ErrorCode
from telehealth.http.api import Api, path_uuid
from telehealth.http.context import caller_of, require_actor
from telehealth.http.keys import SERVICES
from telehealth.notes import reports, service, templates
from telehealth.notes.pdf import find_font, render_pdf
from telehealth.notes.record import NoteRecord
from telehealth.notes.report_rules import techniques_csv
from telehealth.notes.schemas import (
    AddendumIn,
    CatalogEntryIn,
    CatalogExtrasOut,
    CatalogOut,
    CurrentExerciseOut,
    DateRangeQuery,
    DiagnosesOut,
    DiagnosisQuery,
    EnteredInErrorIn,
    EnteredInErrorOut,
    ExercisesOut,
    HistoryOut,
    NoteCopyIn,
    NoteOpenIn,
    NoteOut,
    NoteSaveIn,
    NoteSignIn,
    NoteTemplateIn,
    NoteTemplateOut,
    NoteTemplatesOut,
    SummariesOut,
    SummaryOut,
    TechniqueReportOut,
)
from telehealth.notes.visit_rules import VISIT_NOT_HELD, VISIT_NOT_STARTED

api = Api()
NOTE = "/appointments/{appointment_id}/note"


@api.post(
    NOTE,
    body=NoteOpenIn,
    response=NoteOut,
    status=201,
    also=(200,),
    summary="Open the visit's note (201 when created now, 200 when it existed)",
    tags=("notes",),
)
async def open_note(request: web.Request, body: NoteOpenIn) -> web.StreamResponse:
    """The visit's therapist opens its note: 201 when created now, 200 when it existed."""
    view, created = await service.open_note(
        request.app[SERVICES],
        request.app[CATALOG],
        caller_of(request),
        path_uuid(request, "appointment_id"),
        body.note_type,
    )
    out = NoteOut.of(view, require_actor(request))
    return web.json_response(out.model_dump(mode="json"), status=201 if created else 200)


@api.get(NOTE, response=NoteOut, summary="Read a visit's clinical note", tags=("notes",))
async def get_note(request: web.Request) -> NoteOut:
    """The visit's therapist; other staff only as the settings allow; patients never."""
    view = await service.get_note(
        request.app[SERVICES],
        request.app[CATALOG],
        caller_of(request),
        path_uuid(request, "appointment_id"),
    )
    return NoteOut.of(view, require_actor(request))


@api.put(
    NOTE,
    body=NoteSaveIn,
    response=NoteOut,
    summary="Autosave the draft (409 when stale or signed)",
    tags=("notes",),
)
async def save_note(request: web.Request, body: NoteSaveIn) -> NoteOut:
    """Replace the draft's content when body.version is current."""
    view = await service.save_draft(
        request.app[SERVICES],
        request.app[CATALOG],
        caller_of(request),
        path_uuid(request, "appointment_id"),
        body.version,
        body.content,
    )
    return NoteOut.of(view, require_actor(request))


@api.post(
    NOTE + "/sign",
    body=NoteSignIn,
    response=NoteOut,
    summary="Sign and lock the note (once the visit has started)",
    tags=("notes",),
    errors=(
        VISIT_NOT_STARTED,
        VISIT_NOT_HELD,
        ErrorCode.STALE_VERSION,
        ErrorCode.NOTE_LOCKED,
        ErrorCode.INVALID_INPUT,
        ErrorCode.PROGRESS_REPORT_DUE,
    ),
)
async def sign_note(request: web.Request, body: NoteSignIn) -> NoteOut:
    """Sign the version the therapist is looking at."""
    view = await service.sign_note(
        request.app[SERVICES],
        request.app[CATALOG],
        caller_of(request),
        path_uuid(request, "appointment_id"),
        body.version,
    )
    return NoteOut.of(view, require_actor(request))


@api.post(
    NOTE + "/copy-forward",
    body=NoteCopyIn,
    response=NoteOut,
    summary="Prefill a new draft from the patient's previous signed note",
    tags=("notes",),
    errors=(
        ErrorCode.DRAFT_NOT_EMPTY,
        ErrorCode.NOTHING_TO_COPY,
        ErrorCode.STALE_VERSION,
        ErrorCode.NOTE_LOCKED,
    ),
)
async def copy_forward(request: web.Request, body: NoteCopyIn) -> NoteOut:
    """Diagnoses, interventions and home program of the latest signed note the therapist may read."""
    view = await service.copy_forward_note(
        request.app[SERVICES],
        request.app[CATALOG],
        caller_of(request),
        path_uuid(request, "appointment_id"),
        body.version,
    )
    return NoteOut.of(view, require_actor(request))


@api.get(
    "/note-templates",
    response=NoteTemplatesOut,
    summary="Note templates of every appointment type (admin)",
    tags=("notes",),
)
async def list_note_templates(request: web.Request) -> NoteTemplatesOut:
    """Each appointment type with its template in force."""
    views = await templates.list_templates(request.app[SERVICES], caller_of(request))
    return NoteTemplatesOut(items=[NoteTemplateOut.model_validate(v) for v in views])


@api.get(
    "/note-templates/{type_key}",
    response=NoteTemplateOut,
    summary="The note template of an appointment type (admin)",
    tags=("notes",),
)
async def get_note_template(request: web.Request) -> NoteTemplateOut:
    """Section skeletons and default interventions a new draft of this type starts from."""
    view = await templates.get_template(
        request.app[SERVICES], caller_of(request), request.match_info["type_key"]
    )
    return NoteTemplateOut.model_validate(view)


@api.put(
    "/note-templates/{type_key}",
    body=NoteTemplateIn,
    response=NoteTemplateOut,
    summary="Store the next version of an appointment type's note template (admin)",
    tags=("notes",),
    errors=(ErrorCode.STALE_VERSION, ErrorCode.INVALID_INPUT),
)
async def put_note_template(request: web.Request, body: NoteTemplateIn) -> NoteTemplateOut:
    """Validated against the catalog; a stale version is 409."""
    view = await templates.put_template(
        request.app[SERVICES],
        request.app[CATALOG],
        caller_of(request),
        request.match_info["type_key"],
        body.version,
        body.document,
    )
    return NoteTemplateOut.model_validate(view)


@api.post(
    NOTE + "/addenda",
    body=AddendumIn,
    response=NoteOut,
    status=201,
    summary="Add an addendum to a signed note",
    tags=("notes",),
)
async def add_addendum(request: web.Request, body: AddendumIn) -> NoteOut:
    """Append a hashed addendum; the signed original is unchanged."""
    view = await service.write_addendum(
        request.app[SERVICES],
        request.app[CATALOG],
        caller_of(request),
        path_uuid(request, "appointment_id"),
        body.reason,
        body.text,
    )
    return NoteOut.of(view, require_actor(request))


def _pdf_of(record: NoteRecord) -> bytes:
    return render_pdf(record, find_font())


@api.get(
    NOTE + ".pdf",
    raw_response="application/pdf",
    summary="The signed note as a PDF (for records requests)",
    tags=("notes",),
)
async def get_note_pdf(request: web.Request) -> web.Response:
    """The readers of the note, signed notes only; a draft is 404 like a note you may not read."""
    appointment_id = path_uuid(request, "appointment_id")
    record = await service.signed_note_record(
        request.app[SERVICES], request.app[CATALOG], caller_of(request), appointment_id
    )
    # Layout and font parsing are CPU work (and read the font files): keep the loop free.
    body = await asyncio.to_thread(_pdf_of, record)
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="visit-note-{appointment_id}.pdf"'},
    )


@api.post(
    NOTE + "/entered-in-error",
    body=EnteredInErrorIn,
    response=EnteredInErrorOut,
    status=201,
    summary="Mark a signed note as entered in error (its signer or an admin)",
    tags=("notes",),
    errors=(ErrorCode.NOTE_NOT_SIGNED, ErrorCode.ALREADY_ENTERED_IN_ERROR),
)
async def enter_in_error(request: web.Request, body: EnteredInErrorIn) -> EnteredInErrorOut:
    """Withdraw a signed note with a reason; the note stays readable and counts nowhere."""
    withdrawal = await service.enter_in_error(
        request.app[SERVICES],
        caller_of(request),
        path_uuid(request, "appointment_id"),
        body.reason,
    )
    return EnteredInErrorOut.of(withdrawal.addendum, withdrawal.appointment.id)


@api.get(
    "/appointments/{appointment_id}/summary",
    response=SummaryOut,
    summary="Plain-language summary of a signed visit",
    tags=("notes",),
)
async def get_summary(request: web.Request) -> SummaryOut:
    """The patient's own summary (or staff who may read the note)."""
    view = await service.visit_summary(
        request.app[SERVICES],
        request.app[CATALOG],
        caller_of(request),
        path_uuid(request, "appointment_id"),
    )
    return SummaryOut.of(view)


@api.get(
    "/me/visit-summaries",
    response=SummariesOut,
    summary="My signed visit summaries",
    tags=("notes",),
)
async def my_summaries(request: web.Request) -> SummariesOut:
    """A patient's summaries, newest first."""
    views = await service.visit_summaries(
        request.app[SERVICES], request.app[CATALOG], caller_of(request)
    )
    return SummariesOut(items=[SummaryOut.of(v) for v in views])


@api.get(
    "/me/exercises", response=ExercisesOut, summary="My current home exercises", tags=("notes",)
)
async def my_exercises(request: web.Request) -> ExercisesOut:
    """Home exercises from the newest signed notes."""
    items = await service.current_exercises(
        request.app[SERVICES], request.app[CATALOG], caller_of(request)
    )
    return ExercisesOut(items=[CurrentExerciseOut.of(i) for i in items])


@api.get(
    "/catalog",
    response=CatalogOut,
    summary="Conditions, techniques and exercises in force",
    tags=("catalog",),
)
async def get_catalog(request: web.Request) -> CatalogOut:
    """The catalog the note editor builds its choices from."""
    catalog = await service.current_catalog(
        request.app[SERVICES], request.app[CATALOG], caller_of(request)
    )
    return CatalogOut.of(catalog)


@api.get(
    "/catalog/diagnoses",
    query=DiagnosisQuery,
    response=DiagnosesOut,
    summary="Search ICD-10-CM codes by code or words, the clinic's first (staff)",
    tags=("catalog",),
)
async def search_diagnoses(request: web.Request, query: DiagnosisQuery) -> DiagnosesOut:
    """Type-ahead for the note editor's diagnosis picker."""
    edition, hits = await service.search_diagnoses_for(
        request.app[SERVICES], request.app[CATALOG], caller_of(request), query.q, query.limit
    )
    return DiagnosesOut.of(edition, hits)


@api.get(
    "/catalog/extras",
    response=CatalogExtrasOut,
    summary="Admin additions to the catalog (admin)",
    tags=("catalog",),
)
async def get_catalog_extras(request: web.Request) -> CatalogExtrasOut:
    """The additions in force and their version (admin)."""
    version, document = await service.catalog_extras(
        request.app[SERVICES], request.app[CATALOG], caller_of(request)
    )
    return CatalogExtrasOut(version=version, document=document)


@api.post(
    "/catalog/extras",
    body=CatalogEntryIn,
    response=CatalogExtrasOut,
    status=201,
    summary="Add a catalog entry (admin)",
    tags=("catalog",),
)
async def add_catalog_entry(request: web.Request, body: CatalogEntryIn) -> CatalogExtrasOut:
    """Validate and store a new condition, technique or exercise."""
    services = request.app[SERVICES]
    catalogs = request.app[CATALOG]
    caller = caller_of(request)
    await service.add_catalog_entry(services, catalogs, caller, body.kind, body.entry)
    version, document = await service.catalog_extras(services, catalogs, caller)
    return CatalogExtrasOut(version=version, document=document)


@api.get(
    "/patients/{patient_id}/treatment-history",
    response=HistoryOut,
    summary="A patient's treatment history from signed notes",
    tags=("reports",),
)
async def get_treatment_history(request: web.Request) -> HistoryOut:
    """Techniques prescribed, when, for which condition."""
    history = await reports.treatment_history(
        request.app[SERVICES],
        request.app[CATALOG],
        caller_of(request),
        path_uuid(request, "patient_id"),
    )
    return HistoryOut.of(history)


@api.get(
    "/reports/techniques",
    query=DateRangeQuery,
    response=TechniqueReportOut,
    summary="Techniques by condition over visit dates (admin)",
    tags=("reports",),
)
async def get_technique_report(request: web.Request, query: DateRangeQuery) -> TechniqueReportOut:
    """Counts, minutes and units per technique and condition, signed notes only."""
    report = await reports.technique_report(
        request.app[SERVICES], request.app[CATALOG], caller_of(request), query.start, query.end
    )
    return TechniqueReportOut.of(report)


@api.get(
    "/reports/techniques.csv",
    query=DateRangeQuery,
    raw_response="text/csv",
    summary="The techniques report as CSV (admin)",
    tags=("reports",),
)
async def get_technique_report_csv(request: web.Request, query: DateRangeQuery) -> web.Response:
    """The same report, for a spreadsheet."""
    report = await reports.technique_report(
        request.app[SERVICES], request.app[CATALOG], caller_of(request), query.start, query.end
    )
    filename = f"techniques-{query.start.isoformat()}-{query.end.isoformat()}.csv"
    return web.Response(
        text=techniques_csv(report.rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
