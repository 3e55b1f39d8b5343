"""Posted forms, read in one place: the CSRF check and every page handler go through read_form.

``request.post()`` raises whatever the body makes its parsers raise: ValueError for a missing
multipart boundary, UnicodeDecodeError for bytes that are not in the declared charset,
LookupError for an unknown charset, zlib.error or RuntimeError for a part's unknown or broken
encoding. All of those are the sender's mistake, so all of them are one 400 ``invalid_body``;
only aiohttp's own HTTP errors (413 for a body over the limit) keep their status.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import BaseModel, ValidationError

from telehealth.error_codes import ErrorCode
from telehealth.errors import DomainError, InvalidInput
from telehealth.http.schemas import text_problem, validation_details

log = logging.getLogger(__name__)

Form = MultiDictProxy[str | bytes | bytearray | web.FileField]
M = TypeVar("M", bound=BaseModel)


class InvalidBody(DomainError):
    """The body could not be read as the form it claims to be."""

    status = 400
    code = ErrorCode.INVALID_BODY


async def read_form(request: web.Request) -> Form:
    """The posted form (parsed once, aiohttp keeps it); 400 when malformed, 422 for control characters."""
    try:
        form = await request.post()
    except web.HTTPException:
        raise
    except Exception as exc:
        # Parsers of attacker-controlled bytes fail in many ways; none of them is a server fault.
        log.debug("unreadable form body: %s: %s", type(exc).__name__, exc)
        raise InvalidBody(
            "The form could not be read. Please reload the page and try again."
        ) from None
    for name, value in form.items():
        # The multi-line rule: a form cannot say which of its fields are single-line.
        problem = text_problem(name, multiline=True) or (
            text_problem(value, multiline=True) if isinstance(value, str) else None
        )
        if problem is not None:
            raise InvalidInput(
                f"The form field {name!r} {problem}.", details=[{"field": name, "problem": problem}]
            )
    return form


def parse_form(form: Form, model: type[M]) -> M:
    """A posted form (from `read_form`) read through the model the API validates the same
    input with.

    Only the model's fields are taken (a form also carries its CSRF token and the like); an
    empty field counts as not given, so optional fields take their defaults. Form values are
    text, so they are converted as query strings are (a UUID, a date, an aware time). A
    value the model refuses is a 422 `invalid_input` naming each field, as from the API.
    """
    fields = model.model_fields
    given = {
        name: value
        for name, value in form.items()
        if name in fields and isinstance(value, str) and value != ""
    }
    try:
        return model.model_validate(given, strict=False)
    except ValidationError as exc:
        details = validation_details(exc)
        # The page says which fields, in words (the details keep the field names for programs).
        named = dict.fromkeys(str(d["field"]).replace("_", " ") for d in details)
        raise InvalidInput(f"Please check: {', '.join(named)}.", details=details) from None
