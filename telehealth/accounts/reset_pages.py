"""The pages of a forgotten password: ask for a link by email, then choose a new password with it.

The asking page answers the same whatever was typed, as long as it could be an email address
(`password_reset.request_reset` says why). The link's page only shows the form; the link is spent
by posting it, so a mail scanner that opens links cannot spend it.
"""

from __future__ import annotations

from aiohttp import web

from telehealth.access_ended import Reason, announce_access_ended
from telehealth.accounts import password_reset, rules
from telehealth.accounts.password_reset import LinkDead, LinkState
from telehealth.accounts.schemas import ForgotPasswordForm, PasswordResetForm
from telehealth.errors import InvalidInput
from telehealth.http.context import caller_of
from telehealth.http.forms import parse_form, read_form
from telehealth.http.keys import SERVICES
from telehealth.http.templates import render
from telehealth.passwords import MIN_PASSWORD_LENGTH

NOT_AN_ADDRESS = "That does not look like an email address. Please check it and try again."
MINUTES = int(rules.RESET_LINK_LIFETIME.total_seconds() // 60)


def _forgot_page(
    request: web.Request,
    email: str = "",
    error: str | None = None,
    status: int = 200,
    sent: bool = False,
) -> web.Response:
    return render(
        request,
        "accounts/forgot.html",
        {"email": email, "error": error, "sent": sent, "minutes": MINUTES},
        status=status,
    )


async def forgot_page(request: web.Request) -> web.StreamResponse:
    """The form to ask for a reset link, or (after asking) what happens next."""
    return _forgot_page(request, sent=request.query.get("sent") == "1")


async def forgot_submit(request: web.Request) -> web.StreamResponse:
    """Ask for a link; every address that could be one gets the same answer."""
    try:
        form = parse_form(await read_form(request), ForgotPasswordForm)
    except InvalidInput:
        # Control characters, or longer than any address: nothing worth typing back.
        return _forgot_page(request, error=NOT_AN_ADDRESS, status=422)
    if not form.email:
        return _forgot_page(request, error="Please type your email address.", status=422)
    try:
        await password_reset.request_reset(request.app[SERVICES], caller_of(request), form.email)
    except InvalidInput:
        return _forgot_page(request, form.email, NOT_AN_ADDRESS, 422)
    # To a page of its own: reloading it asks nothing again.
    raise web.HTTPSeeOther(password_reset.FORGOT_PATH + "?sent=1")


def _reset_page(
    request: web.Request,
    state: LinkState,
    error: str | None = None,
    field: str | None = None,
    status: int | None = None,
) -> web.Response:
    if status is None:
        status = {LinkState.LIVE: 200, LinkState.UNKNOWN: 404}.get(state, 410)
    # The fields are always empty again: a page never carries a password back to the browser.
    # The link is the key; the site's Referrer-Policy (same-origin) keeps it from other sites.
    # Not "no-referrer": the browser would then post the form with "Origin: null", which the
    # CSRF check rightly refuses.
    return render(
        request,
        "accounts/reset.html",
        {
            "state": state.value,
            "error": error,
            "field": field,
            "min_length": MIN_PASSWORD_LENGTH,
            "minutes": MINUTES,
        },
        status=status,
    )


def _missing_field(form: PasswordResetForm) -> tuple[str | None, str] | None:
    """The first field left empty or mistyped, with what to say about it."""
    if not form.new_password:
        return "new_password", "Please type a new password."
    if form.new_password_again != form.new_password:
        return (
            "new_password_again",
            "The two new passwords are not the same. Please type them again.",
        )
    return None


async def reset_page(request: web.Request) -> web.StreamResponse:
    """What a reset link opens: the form for a new password, or why the link cannot be used."""
    token = request.match_info["token"]
    state = await password_reset.link_state(request.app[SERVICES], token)
    return _reset_page(request, state)


async def reset_submit(request: web.Request) -> web.StreamResponse:
    """Spend the link: store the new password, end every session, then ask to sign in.

    Not the request's one unit of work: as for the password change, the slow hashing runs
    between two short transactions (`accounts.password_reset`).
    """
    token = request.match_info["token"]
    posted = await read_form(request)  # control characters: refused there, as in every form
    problem: tuple[str | None, str] | None
    try:
        form = parse_form(posted, PasswordResetForm)
        problem = _missing_field(form)
    except InvalidInput as exc:
        # Only a field longer than any password can be: say which, without repeating it.
        problem = (exc.details[0]["field"] if exc.details else None, "That password is too long.")
    if problem is not None:
        # Said on the form only while the link still works: else why it does not.
        state = await password_reset.link_state(request.app[SERVICES], token)
        field, words = problem
        if state is not LinkState.LIVE:
            return _reset_page(request, state)
        return _reset_page(request, state, words, field, 422)
    caller = caller_of(request)
    try:
        done = await password_reset.reset_password(
            request.app[SERVICES], caller, token, form.new_password
        )
    except LinkDead as exc:
        return _reset_page(request, exc.state)
    except InvalidInput as exc:
        return _reset_page(request, LinkState.LIVE, exc.message, "new_password", exc.status)
    if done.sessions_ended:
        # After the commit: the sessions have ended whatever becomes of their sockets.
        await announce_access_ended(request.app, caller, done.user_id, Reason.SESSIONS_ENDED)
    raise web.HTTPSeeOther("/login?password=reset")


def setup_routes(app: web.Application) -> None:
    """Add the forgotten-password pages."""
    app.router.add_get(password_reset.FORGOT_PATH, forgot_page)
    app.router.add_post(password_reset.FORGOT_PATH, forgot_submit)
    app.router.add_get(password_reset.RESET_PATH + "{token}", reset_page)
    app.router.add_post(password_reset.RESET_PATH + "{token}", reset_submit)
