"""Interop API: the patient's record as a FHIR R4 Bundle."""

from __future__ import annotations

from aiohttp import web

from telehealth.catalog.store import CATALOG
from telehealth.http.api import Api, path_uuid
from telehealth.http.keys import SERVICES
from telehealth.interop.export import patient_record_in
from telehealth.unit_of_work import UnitOfWork

api = Api()
# The Bundle's shape is FHIR's own (validated against fhir.resources in the tests); the document
# says what every answer has in common.
FHIR_BUNDLE_SCHEMA = {
    "type": "object",
    "properties": {
        "resourceType": {"const": "Bundle"},
        "type": {"type": "string"},
        "entry": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["resourceType", "type"],
}


@api.get(
    "/patients/{patient_id}/fhir",
    raw_response="application/fhir+json",
    raw_schema=FHIR_BUNDLE_SCHEMA,
    summary="The patient's record as a FHIR R4 Bundle",
    tags=("interop",),
)
async def get_patient_fhir(request: web.Request, uow: UnitOfWork) -> web.Response:
    """Patient, Practitioner, Appointment, Encounter, Condition, Procedure, CarePlan,
    EpisodeOfCare and Goal."""
    bundle = await patient_record_in(
        uow, request.app[SERVICES], request.app[CATALOG], path_uuid(request, "patient_id")
    )
    return web.json_response(bundle, content_type="application/fhir+json")
