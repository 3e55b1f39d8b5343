"""Turn validation failures into InvalidInput whose details name each offending field path."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypedDict

from pydantic import ValidationError

from telehealth.errors import InvalidInput


class FieldError(TypedDict):
    """One problem: the dotted/indexed path of the field and a human-readable message."""

    field: str
    message: str


def field_path(loc: Iterable[int | str]) -> str:
    """Render a location tuple as `interventions[2].parameters.grade`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def errors_from_validation(
    exc: ValidationError, prefix: Sequence[int | str] = ()
) -> list[FieldError]:
    """List the field errors of a pydantic ValidationError, paths under an optional prefix."""
    found: list[FieldError] = []
    for err in exc.errors(include_url=False):
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        found.append({"field": field_path([*prefix, *err["loc"]]), "message": message})
    return found


def invalid(errors: Sequence[FieldError], what: str) -> InvalidInput:
    """Build one InvalidInput carrying every field error (at least one)."""
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    where = f"{first['field']}: " if first["field"] else ""
    return InvalidInput(f"Invalid {what}: {where}{first['message']}{more}", details=list(errors))
