"""Sign-in, sign-out and registration (each role's home page is telehealth.home)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from aiohttp import web

from telehealth.access_ended import Reason, announce_access_ended
from telehealth.accounts import password_change, rules, service
from telehealth.accounts.models import Role
from telehealth.accounts.schemas import PasswordChangeForm
from telehealth.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotAuthenticated,
    TooManyRequests,
)
from telehealth.http.auth import clear_session_cookie, device_token, set_session_cookie
from telehealth.http.context import caller_of, current_token_hash, require_actor
from telehealth.http.forms import parse_form, read_form
from telehealth.http.keys import CURRENT_SESSION, SERVICES, SETTINGS
from telehealth.http.templates import render
from telehealth.passwords import MIN_PASSWORD_LENGTH
from telehealth.zones import COMMON_ZONES


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after sign-in is a phishing tool.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    # Browsers read a backslash as "/" and drop tabs and newlines: "/<TAB>/x.example" is "//x.example".
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def login_page(request: web.Request) -> web.StreamResponse:
    """The sign-in form (or home, when already signed in)."""
    if request.get(CURRENT_SESSION):
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return render(
        request,
        "accounts/login.html",
        {
            "email": "",
            "error": None,
            "next": _safe_next(request.query.get("next")),
            # Arrived from a reset link: the new password is stored, every session ended.
            "password_reset": request.query.get("password") == "reset",
        },
    )


async def login_submit(request: web.Request) -> web.StreamResponse:
    """Sign in from the form; errors are shown on the form, never as a bare error page."""
    form = await read_form(request)
    email = str(form.get("email", ""))[:254]
    password = str(form.get("password", ""))[:256]
    target = _safe_next(str(form.get("next", "/")))
    services = request.app[SERVICES]
    try:
        signed_in = await service.login(
            services,
            caller_of(request),
            email,
            password,
            current_token_hash(request),
            device_token(request),
        )
    except TooManyRequests as exc:
        response = render(
            request,
            "accounts/login.html",
            {"email": email, "error": exc.message, "next": target},
            status=429,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except NotAuthenticated as exc:
        return render(
            request,
            "accounts/login.html",
            {"email": email, "error": exc.message, "next": target},
            status=401,
        )
    response = web.HTTPSeeOther(target)
    set_session_cookie(response, request.app[SETTINGS], signed_in)
    raise response


async def logout_submit(request: web.Request) -> web.StreamResponse:
    """Sign out and go to the sign-in page."""
    current = request.get(CURRENT_SESSION)
    if current is not None:
        await service.logout(request.app[SERVICES], caller_of(request), current.token_hash)
    response = web.HTTPSeeOther("/login?signed_out=1")
    clear_session_cookie(response, request.app[SETTINGS])
    raise response


def _details_page(
    request: web.Request,
    values: dict[str, str],
    error: str | None = None,
    saved: bool = False,
    status: int = 200,
    password_changed: bool = False,
    error_field: str | None = None,
) -> web.Response:
    zone = values.get("time_zone", "")
    zones = COMMON_ZONES if zone in COMMON_ZONES or not zone else (zone, *COMMON_ZONES)
    return render(
        request,
        "accounts/details.html",
        {
            "values": values,
            "zones": zones,
            "error": error,
            "saved": saved,
            "password_changed": password_changed,
            "error_field": error_field,
            "is_patient": require_actor(request).is_patient,
            "channels": [(c.value, words) for c, words in rules.CHANNEL_WORDS.items()],
        },
        status=status,
    )


# A patient's preferences on the details form (shown back as typed when refused).
_PREFERENCE_FIELDS = (
    "preferred_contact",
    "emergency_name",
    "emergency_phone",
    "emergency_relationship",
)


async def details_page(request: web.Request) -> web.StreamResponse:
    """The signed-in person's own name, phone and time zone, to change."""
    require_actor(request)
    user = await service.get_self(request.app[SERVICES], caller_of(request))
    values = {
        "display_name": user.display_name,
        "phone": user.phone or "",
        "time_zone": user.time_zone,
        "preferred_contact": user.preferred_contact or "",
        "emergency_name": user.emergency_name or "",
        "emergency_phone": user.emergency_phone or "",
        "emergency_relationship": user.emergency_relationship or "",
    }
    return _details_page(
        request,
        values,
        saved=request.query.get("saved") == "1",
        password_changed=request.query.get("password") == "changed",
    )


async def details_submit(request: web.Request) -> web.StreamResponse:
    """Save them; a refusal keeps everything typed and says what to fix."""
    actor = require_actor(request)
    form = await read_form(request)
    values = {
        "display_name": str(form.get("display_name", ""))[:120],
        "phone": str(form.get("phone", ""))[:32],
        "time_zone": str(form.get("time_zone", ""))[:64],
    }
    # Kept as typed (up to a length the page can show back) so a refusal loses nothing.
    typed = {name: str(form.get(name, "")).strip()[:200] for name in _PREFERENCE_FIELDS}
    try:
        changes = service.OwnChanges(
            display_name=values["display_name"],
            time_zone=values["time_zone"],
            phone=values["phone"],
        )
        if actor.is_patient:
            changes = replace(
                changes,
                preferred_contact=typed["preferred_contact"],
                emergency_contact=rules.EmergencyContact(
                    typed["emergency_name"],
                    typed["emergency_phone"],
                    typed["emergency_relationship"],
                ),
            )
        await service.update_self(request.app[SERVICES], caller_of(request), changes)
    except InvalidInput as exc:
        field = exc.details.get("field") if isinstance(exc.details, dict) else None
        return _details_page(
            request,
            {**values, **typed},
            error=exc.message,
            status=422,
            error_field=field if isinstance(field, str) else None,
        )
    raise web.HTTPSeeOther("/me/details?saved=1")


def _password_page(
    request: web.Request, error: str | None = None, field: str | None = None, status: int = 200
) -> web.Response:
    # The fields are always empty again: a page never carries a password back to the browser.
    return render(
        request,
        "accounts/password.html",
        {"error": error, "field": field, "min_length": MIN_PASSWORD_LENGTH},
        status=status,
    )


async def password_page(request: web.Request) -> web.StreamResponse:
    """The form to change one's own password."""
    require_actor(request)
    return _password_page(request)


def _missing_field(form: PasswordChangeForm) -> tuple[str, str] | None:
    """The first field left empty or mistyped, with what to say about it."""
    if not form.current_password:
        return "current_password", "Please type your current password."
    if not form.new_password:
        return "new_password", "Please type a new password."
    if form.new_password_again != form.new_password:
        return (
            "new_password_again",
            "The two new passwords are not the same. Please type them again.",
        )
    return None


async def password_submit(request: web.Request) -> web.StreamResponse:
    """Change it; a refusal says which field is wrong, and every field comes back empty.

    Not the request's one unit of work: like sign-in, the check is counted in a transaction of
    its own before the password is checked, and the slow hashing runs outside any transaction
    (`accounts.password_change`).
    """
    require_actor(request)
    current = request[CURRENT_SESSION]
    assert current is not None
    posted = await read_form(request)  # control characters: refused there, as in every form
    try:
        form = parse_form(posted, PasswordChangeForm)
    except InvalidInput as exc:
        # Only a field longer than any password can be: say which, without repeating it.
        field = exc.details[0]["field"] if exc.details else None
        return _password_page(request, "That password is too long.", field, 422)
    missing = _missing_field(form)
    if missing is not None:
        field, words = missing
        return _password_page(request, words, field, 422)
    caller = caller_of(request)
    try:
        changed = await password_change.change_password(
            request.app[SERVICES],
            caller,
            current.token_hash,
            form.current_password,
            form.new_password,
        )
    except TooManyRequests as exc:
        response = _password_page(request, exc.message, "current_password", 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except password_change.CurrentPasswordWrong as exc:
        return _password_page(request, exc.message, "current_password", exc.status)
    except InvalidInput as exc:
        return _password_page(request, exc.message, "new_password", exc.status)
    except Conflict as exc:
        return _password_page(request, exc.message, None, exc.status)
    if changed.other_sessions_ended:
        # After the commit: the sessions have ended whatever becomes of their sockets.
        await announce_access_ended(request.app, caller, changed.user_id, Reason.SESSIONS_ENDED)
    raise web.HTTPSeeOther("/me/details?password=changed")


async def register_page(request: web.Request) -> web.StreamResponse:
    """Patient self-registration, when the clinic allows it."""
    if not request.app[SETTINGS].self_registration:
        raise web.HTTPNotFound()
    return render(request, "accounts/register.html", {"values": {}, "error": None})


async def register_submit(request: web.Request) -> web.StreamResponse:
    """Create the patient account, then sign in."""
    settings = request.app[SETTINGS]
    if not settings.self_registration:
        raise web.HTTPNotFound()
    form = await read_form(request)
    values = {
        k: str(form.get(k, ""))[:256] for k in ("email", "display_name", "time_zone", "phone")
    }
    password = str(form.get("password", ""))[:256]
    person = service.NewPerson(
        email=values["email"],
        display_name=values["display_name"],
        role=Role.PATIENT,
        password=password,
        time_zone=values["time_zone"] or settings.clinic_time_zone,
        phone=values["phone"] or None,
    )
    services = request.app[SERVICES]
    try:
        await service.register_patient(services, caller_of(request), person)
        signed_in = await service.login(services, caller_of(request), values["email"], password)
    except DomainError as exc:
        return render(
            request,
            "accounts/register.html",
            {"values": values, "error": exc.message},
            status=exc.status,
        )
    response = web.HTTPSeeOther("/")
    set_session_cookie(response, settings, signed_in)
    raise response


def setup_routes(app: web.Application) -> None:
    """Add the account pages."""
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout_submit)
    app.router.add_get("/me/details", details_page)
    app.router.add_post("/me/details", details_submit)
    app.router.add_get("/me/password", password_page)
    app.router.add_post("/me/password", password_submit)
    app.router.add_get("/register", register_page)
    app.router.add_post("/register", register_submit)
