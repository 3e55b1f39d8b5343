"""The one text rule, the one zone check, and the query-time and whole-number types."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from telehealth.app import build_api
from telehealth.errors import InvalidInput
from telehealth.http.schemas import (
    JsonInt,
    QueryDate,
    QueryInstant,
    QueryModel,
    RequestModel,
    SafeJsonObject,
    SafeStr,
    SafeText,
    WallTime,
    ZoneName,
    printable,
    text_problem,
)
from telehealth.zones import is_zone_name, known_zones, resolve_zone


class Body(RequestModel):
    line: SafeStr = ""
    text: SafeText = ""
    zone: ZoneName = "UTC"
    wall: WallTime | None = None
    content: SafeJsonObject | None = None
    count: JsonInt = 0


class Query(QueryModel):
    since: QueryInstant | None = None
    day: QueryDate | None = None


def _error_types(body: str) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        Body.model_validate_json(body)
    return [e["type"] for e in raised.value.errors()]


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9f", "\t", "\n", "\r"])
def test_one_line_refuses_every_control_character(char: str) -> None:
    assert text_problem(f"a{char}b") is not None
    assert _error_types(json.dumps({"line": f"a{char}b"})) == ["control_character"]


@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_multi_line_text_keeps_tab_and_line_breaks(char: str) -> None:
    assert text_problem(f"a{char}b", multiline=True) is None
    assert Body(text=f"a{char}b").text == f"a{char}b"


@pytest.mark.parametrize("char", ["\x00", "\x0b", "\x0c", "\x1f", "\x7f", "\ud800", "\udfff"])
def test_multi_line_text_refuses_the_rest(char: str) -> None:
    assert text_problem(f"a{char}b", multiline=True) is not None
    with pytest.raises(ValidationError):
        Body.model_validate({"text": f"a{char}b"})


def test_the_rule_looks_at_what_was_sent_before_stripping() -> None:
    # "a\n" is not one line, even though stripping whitespace would hide the line feed.
    assert _error_types('{"line": "a\\n"}') == ["control_character"]
    assert Body.model_validate_json('{"line": "  a  "}').line == "a"


def test_ordinary_text_of_any_script_passes() -> None:
    for text in ("José Ñúñez", "李小龍", "Zoë 😀", "O'Brien-Smith", "a\u200db"):
        assert text_problem(text) is None
        assert Body(line=text).line == text


def test_json_objects_are_checked_at_every_depth() -> None:
    assert Body(content={"a": [{"b": "line\nbreak"}]}).content == {"a": [{"b": "line\nbreak"}]}
    assert _error_types('{"content": {"a": [{"b": "x\\u0000"}]}}') == ["json_text"]
    assert _error_types('{"content": {"k\\u0000": 1}}') == ["json_text"]


def test_the_document_states_the_rules() -> None:
    properties = Body.model_json_schema()["properties"]
    assert properties["line"]["pattern"] == "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    assert "\\u0009" not in properties["text"]["pattern"]
    assert "format" not in properties["wall"]["anyOf"][0]  # JSON Schema's `time` needs an offset
    assert properties["zone"]["examples"]


def test_printable_replaces_what_the_rule_refuses() -> None:
    assert printable("Browser\x00 \udcff/1.0") == "Browser\ufffd \ufffd/1.0"
    assert printable("Mozilla/5.0 (X11)") == "Mozilla/5.0 (X11)"


@pytest.mark.parametrize(
    "name",
    [
        "America",
        "Etc",
        "",
        "Etc/",
        "../../etc/passwd",
        "/etc/localtime",
        "UTC\x00",
        "localtime",
        "posixrules",
        "Factory",
        "America/Nowhere",
        "EST 5",
        "x" * 65,
        None,
        5,
    ],
)
def test_names_that_are_not_zones(name: object) -> None:
    assert not is_zone_name(name)
    with pytest.raises(InvalidInput, match="time zone"):
        resolve_zone(name, "time_zone")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    ["America/New_York", "America/Argentina/Buenos_Aires", "Europe/London", "UTC", "Etc/UTC"],
)
def test_names_that_are_zones(name: str) -> None:
    assert is_zone_name(name)
    assert resolve_zone(name).key == name
    assert Body(zone=name).zone == name


def test_the_zone_type_uses_the_same_check() -> None:
    for name in ("America", "Etc", "Mars/Base"):
        assert _error_types(f'{{"zone": "{name}"}}') == ["time_zone"]
    assert len(known_zones()) > 300


@pytest.mark.parametrize("value", ["0.5", "1700000000", "1e3", "yesterday"])
def test_query_times_must_be_iso_8601(value: str) -> None:
    with pytest.raises(ValidationError):
        Query.model_validate({"since": value})
    with pytest.raises(ValidationError):
        Query.model_validate({"day": value})


def test_query_times_in_iso_8601_pass() -> None:
    query = Query.model_validate({"since": "2026-03-02T09:00:00-05:00", "day": "2026-03-02"})
    assert query.since is not None and query.since.utcoffset() is not None
    with pytest.raises(ValidationError):
        Query.model_validate({"since": "2026-03-02T09:00:00"})  # no offset: not an instant


def test_wall_times_carry_no_offset() -> None:
    assert str(Body.model_validate_json('{"wall": "09:30"}').wall) == "09:30:00"
    assert _error_types('{"wall": "09:30Z"}') == ["wall_time"]


def test_whole_numbers_may_be_written_with_a_zero_fraction() -> None:
    assert Body.model_validate_json('{"count": 3.0}').count == 3
    assert _error_types('{"count": 3.5}') == ["int_type"]
    assert _error_types('{"count": "3"}') == ["int_type"]
    assert _error_types('{"count": true}') == ["int_type"]


# Strings the schema parses into another type: they never reach a database as text.
_PARSED_FORMATS = {"date", "date-time", "uuid"}


def _unruled_strings(schema: dict[str, Any], where: str, defs: dict[str, Any]) -> Iterator[str]:
    if "$ref" in schema:
        yield from _unruled_strings(defs[schema["$ref"].rsplit("/", 1)[1]], where, defs)
        return
    for key in ("anyOf", "allOf", "oneOf"):
        for option in schema.get(key, []):
            yield from _unruled_strings(option, where, defs)
    for key, suffix in (("items", "[]"), ("additionalProperties", "{}")):
        if isinstance(schema.get(key), dict):
            yield from _unruled_strings(schema[key], where + suffix, defs)
    for name, prop in schema.get("properties", {}).items():
        yield from _unruled_strings(prop, f"{where}.{name}", defs)
    ruled = {"pattern", "enum", "const"} & set(schema) or schema.get("format") in _PARSED_FORMATS
    if schema.get("type") == "string" and not ruled:
        yield where


def test_every_text_a_request_carries_follows_the_text_rule() -> None:
    # The text types state their rule as a pattern in the document: a plain `str` in a body or
    # query model is a text that skipped it (as the diagnosis search's q once did).
    document = build_api().openapi()
    defs = document["components"]["schemas"]
    unruled: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    found = _unruled_strings(
                        parameter["schema"], f"{where} ?{parameter['name']}", defs
                    )
                    unruled.extend(found)
            for content in operation.get("requestBody", {}).get("content", {}).values():
                unruled.extend(_unruled_strings(content["schema"], f"{where} body", defs))
    assert unruled == []
