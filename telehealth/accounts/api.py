"""Accounts API: sign-in, the signed-in person, people management and care teams."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from telehealth.access_ended import Reason, announce_access_ended
from telehealth.accounts import password_change, service
from telehealth.accounts.models import Role
from telehealth.accounts.schemas import (
    CareTeamIn,
    CareTeamOut,
    LoginIn,
    LoginOut,
    MeOut,
    OwnPatch,
    PasswordChangeIn,
    PatientsOut,
    PeopleOut,
    PeopleQuery,
    PersonIn,
    PersonOut,
    PersonPatch,
    RegisterIn,
)
from telehealth.error_codes import ErrorCode
from telehealth.http.api import Api, path_uuid
from telehealth.http.auth import clear_session_cookie, device_token, set_session_cookie
from telehealth.http.context import caller_of, current_token_hash
from telehealth.http.keys import CURRENT_SESSION, SERVICES, SETTINGS
from telehealth.unit_of_work import UnitOfWork

api = Api()


@api.post(
    "/auth/login", body=LoginIn, response=LoginOut, summary="Sign in", tags=("auth",), auth=False
)
async def login(request: web.Request, body: LoginIn) -> web.StreamResponse:
    """Check credentials; answer a bearer token and set the session cookie."""
    services = request.app[SERVICES]
    signed_in = await service.login(
        services,
        caller_of(request),
        body.email,
        body.password,
        current_token_hash(request),
        device_token(request),
    )
    user = await service.get_self(services, replace(caller_of(request), actor=signed_in.actor))
    out = LoginOut(
        token=signed_in.token,
        csrf_token=signed_in.csrf_token,
        expires_in=int(services.settings.session_absolute.total_seconds()),
        user=PersonOut.model_validate(user),
    )
    response = web.json_response(out.model_dump(mode="json"))
    set_session_cookie(response, request.app[SETTINGS], signed_in)
    return response


@api.post("/auth/logout", summary="Sign out (ends this session)", tags=("auth",))
async def logout(request: web.Request) -> web.StreamResponse:
    """End the current session and clear the cookie."""
    current = request[CURRENT_SESSION]
    assert current is not None  # guaranteed by auth=True
    await service.logout(request.app[SERVICES], caller_of(request), current.token_hash)
    response = web.Response(status=204)
    clear_session_cookie(response, request.app[SETTINGS])
    return response


@api.post(
    "/auth/logout-everywhere",
    summary="Sign out everywhere (ends every session and closes visit connections)",
    tags=("auth",),
)
async def logout_everywhere(request: web.Request) -> web.StreamResponse:
    """End all of the caller's sessions, then close their live visit sockets."""
    caller = caller_of(request)
    await service.logout_everywhere(request.app[SERVICES], caller)
    await announce_access_ended(
        request.app, caller, caller.require_actor().id, Reason.SESSIONS_ENDED
    )
    response = web.Response(status=204)
    clear_session_cookie(response, request.app[SETTINGS])
    return response


@api.post(
    "/auth/register",
    body=RegisterIn,
    response=PersonOut,
    status=201,
    summary="Patient self-registration (when enabled)",
    tags=("auth",),
    auth=False,
)
async def register(request: web.Request, body: RegisterIn) -> PersonOut:
    """Create a patient account for oneself."""
    person = service.NewPerson(role=Role.PATIENT, **body.model_dump())
    user = await service.register_patient(request.app[SERVICES], caller_of(request), person)
    return PersonOut.model_validate(user)


@api.patch(
    "/me",
    body=OwnPatch,
    response=MeOut,
    summary="Change my own name, time zone or phone",
    tags=("auth",),
)
async def update_me(request: web.Request, body: OwnPatch) -> MeOut:
    """Fields left out stay as they are; an empty phone removes it."""
    current = request[CURRENT_SESSION]
    assert current is not None
    user = await service.update_self(
        request.app[SERVICES], caller_of(request), service.OwnChanges(**body.model_dump())
    )
    return MeOut(user=PersonOut.model_validate(user), csrf_token=current.csrf_token)


@api.post(
    "/me/password",
    body=PasswordChangeIn,
    summary="Change my password (ends my other sessions)",
    tags=("auth",),
    errors=(ErrorCode.CURRENT_PASSWORD_WRONG, ErrorCode.LOGIN_LOCKED),
)
async def change_my_password(request: web.Request, body: PasswordChangeIn) -> None:
    """The current password proves it is me; a wrong one counts as a failed sign-in (the account
    locks as sign-in does). This session stays signed in; every other one ends, with its visit
    connections."""
    current = request[CURRENT_SESSION]
    assert current is not None  # guaranteed by auth=True
    caller = caller_of(request)
    changed = await password_change.change_password(
        request.app[SERVICES],
        caller,
        current.token_hash,
        body.current_password,
        body.new_password,
    )
    if changed.other_sessions_ended:
        # After the commit: the sessions have ended whatever becomes of their sockets.
        await announce_access_ended(request.app, caller, changed.user_id, Reason.SESSIONS_ENDED)


@api.get("/me", response=MeOut, summary="The signed-in person", tags=("auth",))
async def me(request: web.Request, uow: UnitOfWork) -> MeOut:
    """Who am I."""
    user = await service.get_self_in(uow)
    current = request[CURRENT_SESSION]
    assert current is not None
    return MeOut(user=PersonOut.model_validate(user), csrf_token=current.csrf_token)


@api.get(
    "/users",
    query=PeopleQuery,
    response=PeopleOut,
    summary="List accounts (admin)",
    tags=("people",),
)
async def list_users(request: web.Request, query: PeopleQuery) -> PeopleOut:
    """Accounts, optionally by role."""
    role = Role(query.role) if query.role else None
    people, total = await service.list_people(
        request.app[SERVICES], caller_of(request), role, query.limit, query.offset
    )
    return PeopleOut(items=[PersonOut.model_validate(p) for p in people], total=total)


@api.post(
    "/users",
    body=PersonIn,
    response=PersonOut,
    status=201,
    summary="Create an account (admin)",
    tags=("people",),
)
async def create_user(request: web.Request, body: PersonIn) -> PersonOut:
    """Create a patient, therapist or admin."""
    fields = body.model_dump()
    fields["role"] = Role(fields["role"])
    user = await service.create_person(
        request.app[SERVICES], caller_of(request), service.NewPerson(**fields)
    )
    return PersonOut.model_validate(user)


@api.get("/users/{user_id}", response=PersonOut, summary="One account (admin)", tags=("people",))
async def get_user(request: web.Request) -> PersonOut:
    """Read an account."""
    user = await service.get_person(
        request.app[SERVICES], caller_of(request), path_uuid(request, "user_id")
    )
    return PersonOut.model_validate(user)


@api.patch(
    "/users/{user_id}",
    body=PersonPatch,
    response=PersonOut,
    summary="Change or deactivate an account (admin)",
    tags=("people",),
)
async def update_user(request: web.Request, body: PersonPatch) -> PersonOut:
    """Edit an account; is_active=false ends its sessions at once."""
    changes = service.PersonChanges(**body.model_dump())
    caller = caller_of(request)
    user = await service.update_person(
        request.app[SERVICES], caller, path_uuid(request, "user_id"), changes
    )
    if not user.is_active:
        # After the commit: the account is deactivated whatever becomes of its sockets.
        await announce_access_ended(request.app, caller, user.id, Reason.DEACTIVATED)
    return PersonOut.model_validate(user)


@api.delete(
    "/users/{user_id}/sessions",
    summary="End every session of an account (admin)",
    tags=("people",),
)
async def end_user_sessions(request: web.Request) -> None:
    """Sign a person out everywhere, visit connections included; the account stays active."""
    caller = caller_of(request)
    user = await service.end_sessions(request.app[SERVICES], caller, path_uuid(request, "user_id"))
    await announce_access_ended(request.app, caller, user.id, Reason.SESSIONS_ENDED)


@api.get("/patients", response=PatientsOut, summary="Patients visible to me", tags=("patients",))
async def list_patients(request: web.Request) -> PatientsOut:
    """Self for a patient, own patients for a therapist, all for an admin."""
    patients = await service.list_patients(request.app[SERVICES], caller_of(request))
    return PatientsOut(items=[PersonOut.model_validate(p) for p in patients])


@api.get(
    "/patients/{patient_id}",
    response=PersonOut,
    summary="One patient's profile",
    tags=("patients",),
)
async def get_patient(request: web.Request) -> PersonOut:
    """A patient visible to me, or 404."""
    patient = await service.get_patient(
        request.app[SERVICES], caller_of(request), path_uuid(request, "patient_id")
    )
    return PersonOut.model_validate(patient)


@api.get(
    "/patients/{patient_id}/care-team",
    response=CareTeamOut,
    summary="A patient's therapists",
    tags=("patients",),
)
async def get_care_team(request: web.Request) -> CareTeamOut:
    """The therapists on a patient's care team."""
    therapists = await service.care_team(
        request.app[SERVICES], caller_of(request), path_uuid(request, "patient_id")
    )
    return CareTeamOut(items=[PersonOut.model_validate(t) for t in therapists])


@api.post(
    "/patients/{patient_id}/care-team",
    body=CareTeamIn,
    summary="Assign a therapist (admin)",
    tags=("patients",),
)
async def assign_care_team(request: web.Request, body: CareTeamIn) -> None:
    """Put a therapist on the care team."""
    await service.assign_therapist(
        request.app[SERVICES],
        caller_of(request),
        path_uuid(request, "patient_id"),
        body.therapist_id,
    )


@api.delete(
    "/patients/{patient_id}/care-team/{therapist_id}",
    summary="Remove a therapist from a care team (admin)",
    tags=("patients",),
)
async def remove_care_team(request: web.Request) -> None:
    """Take a therapist off the care team; the pair's live visit sockets close."""
    caller = caller_of(request)
    patient_id = path_uuid(request, "patient_id")
    therapist_id = path_uuid(request, "therapist_id")
    await service.remove_therapist(request.app[SERVICES], caller, patient_id, therapist_id)
    await announce_access_ended(
        request.app, caller, patient_id, Reason.CARE_TEAM_REMOVED, partner_id=therapist_id
    )
