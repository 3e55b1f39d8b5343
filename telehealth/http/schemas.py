"""Base classes and text types for request and response models shared by the API and OpenAPI.

Every text a request carries (body fields, query filters, form fields of the pages) is one of the
two text types below, so one rule decides what text may reach a database: no NUL (PostgreSQL
refuses it, SQLite would store it), no other control character (they hide text from the person
reading it later), no lone surrogate (not encodable as UTF-8). Multi-line text keeps tab, line
feed and carriage return.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetJsonSchemaHandler,
    JsonValue,
    ValidationError,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from telehealth import zones

# C0 controls, DEL and C1 controls; then the same without tab, line feed and carriage return.
_SINGLE_LINE_REFUSED = "\\u0000-\\u001f\\u007f-\\u009f"
_MULTI_LINE_REFUSED = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
_SURROGATES = "\\ud800-\\udfff"
_SINGLE_LINE_BAD = re.compile(f"[{_SINGLE_LINE_REFUSED}{_SURROGATES}]")
_MULTI_LINE_BAD = re.compile(f"[{_MULTI_LINE_REFUSED}{_SURROGATES}]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """What is wrong with a text a person sent, or None when it may be stored."""
    bad = (_MULTI_LINE_BAD if multiline else _SINGLE_LINE_BAD).search(value)
    if bad is None:
        return None
    return f"must not contain the control character U+{ord(bad.group()):04X}"


def printable(value: str) -> str:
    """A header value made storable: what the text rule refuses becomes U+FFFD.

    For what the client sends about itself (User-Agent, a forwarded address): refusing the request
    over it would be harsh, storing it as-is could fail in the database.
    """
    return _SINGLE_LINE_BAD.sub("\ufffd", value)


@dataclass(frozen=True)
class _Text:
    """Refuses control characters and lone surrogates, and says so in the JSON schema."""

    multiline: bool

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        # Before the string schema strips whitespace: the rule is about what was sent, as the
        # pattern in the document says ("a\n" is not one line, even though stripping would hide it).
        return core_schema.no_info_before_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        refused = _MULTI_LINE_REFUSED if self.multiline else _SINGLE_LINE_REFUSED
        json_schema["pattern"] = f"^[^{refused}]*$"
        return json_schema

    def _check(self, value: Any) -> Any:
        # Anything but a string is left to the string schema, which refuses it by type.
        if isinstance(value, str):
            problem = text_problem(value, multiline=self.multiline)
            if problem is not None:
                raise PydanticCustomError("control_character", problem)
        return value


SafeStr = Annotated[str, _Text(multiline=False)]
"""One line of text: a name, an email, a key, a filter."""

SafeText = Annotated[str, _Text(multiline=True)]
"""Text that may span lines: a reason, a note."""


def _whole_number(value: Any) -> Any:
    # JSON Schema's "integer" is any number without a fractional part, 3.0 included.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = BeforeValidator(_whole_number)
"""Put last in an Annotated int with Field constraints (before it, they stay in the JSON schema)."""

JsonInt = Annotated[int, WholeNumber]
"""A whole number in a JSON body: 3 or 3.0 (both are JSON Schema integers), never "3" or 3.5."""

ZONE_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$"


@dataclass(frozen=True)
class _Zone:
    """Accepts known IANA zone names only (telehealth.zones), and describes them in the JSON schema."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Not the ~600 names as an enum: they depend on the tz database installed, and listing
        # them would make the document as large as the rest of it together.
        json_schema = handler(schema)
        json_schema["pattern"] = ZONE_NAME_PATTERN
        json_schema["description"] = "An IANA time zone name that the tz database holds."
        json_schema["examples"] = ["America/New_York", "Europe/London", "UTC"]
        return json_schema

    def _check(self, value: str) -> str:
        if not zones.is_zone_name(value):
            raise PydanticCustomError("time_zone", zones.zone_problem(value))
        return value


ZoneName = Annotated[str, _Zone()]
"""An IANA time zone name, checked by telehealth.zones like every other zone the service takes."""


def _check_json(value: Any, path: str = "") -> Any:
    if isinstance(value, str):
        problem = text_problem(value, multiline=True)
        if problem is not None:
            raise PydanticCustomError(
                "json_text", "{path} {problem}", {"path": path or "(value)", "problem": problem}
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            _check_json(key, where)
            _check_json(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")
    return value


@dataclass(frozen=True)
class _JsonText:
    """Applies the multi-line text rule to every key and string of a JSON value, however deep."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_check_json, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # JSON Schema cannot say "every string, however deep" without a recursive definition.
        json_schema = handler(schema)
        json_schema["description"] = (
            "Keys and strings at any depth must not contain control characters other than "
            "tab, line feed and carriage return."
        )
        return json_schema


SafeJsonObject = Annotated[dict[str, JsonValue], _JsonText()]
"""A JSON object whose keys and strings, however deep, follow the multi-line text rule."""


def _iso_text(value: Any) -> Any:
    # Lax validation reads "0.5" or "1700000000" as Unix timestamps; a query filter is ISO 8601.
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise PydanticCustomError("iso_8601", "must be an ISO 8601 date or date-time")
    return value


QueryInstant = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
"""An instant in a query string: ISO 8601 with an offset (2026-03-02T14:00:00Z)."""

QueryDate = Annotated[date, BeforeValidator(_iso_text)]
"""A date in a query string: ISO 8601 (2026-03-02)."""

WALL_TIME_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
    "description": "Local wall-clock time HH:MM[:SS] in the zone given beside it, without an offset.",
    "examples": ["09:00", "17:30:00"],
}


def _naive_time(value: time) -> time:
    if value.tzinfo is not None:
        raise PydanticCustomError(
            "wall_time", "a local wall-clock time must not carry its own offset"
        )
    return value


WallTime = Annotated[time, AfterValidator(_naive_time), WithJsonSchema(WALL_TIME_SCHEMA)]
"""A local wall-clock time (availability, series): JSON Schema's `format: time` needs an offset,
which a rule in a named zone must not have, so the document says what the service does."""


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """A pydantic error as the `details` of a 422: the field, the problem, its type."""
    return [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "(body)",
            "problem": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors(include_url=False, include_input=False)
    ]


class RequestModel(BaseModel):
    """A request body: unknown fields are refused and types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class QueryModel(BaseModel):
    """Query parameters: strings coerced to the declared types, unknown ones refused."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    """A response body."""

    model_config = ConfigDict(from_attributes=True)
