"""jinja2 pages: one environment per app, autoescaped, with the values every page needs."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from telehealth.config import Settings
from telehealth.http.keys import ANONYMOUS_CSRF, CURRENT_SESSION, REQUEST_ID, SETTINGS, TEMPLATES
from telehealth.http.locale import uses_12_hour_clock
from telehealth.resources import web_dir
from telehealth.time_words import clock, clock_range, local_clock


class Templates:
    """Renders pages from web/templates."""

    def __init__(self, settings: Settings) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(web_dir() / "templates"),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["clinic_name"] = settings.clinic_name
        self.env.filters["local_time"] = _local_time
        # Times of day in the reader's clock: pages pass `hour12`, which render() gives them.
        self.env.filters["clock"] = clock
        self.env.filters["clock_range"] = clock_range
        self.env.filters["local_clock"] = local_clock
        self.env.filters["plural"] = plural
        self.env.filters["tel"] = tel_href
        self.env.globals["agenda_label"] = agenda_label

    def add_filter(self, name: str, function: Callable[..., Any]) -> None:
        """Let a feature teach every page one of its own rules (http/ imports no feature)."""
        self.env.filters[name] = function

    def render(self, name: str, context: dict[str, Any]) -> str:
        """Render a template to a string."""
        return self.env.get_template(name).render(context)


def agenda_label(status: str, modality: str) -> str:
    """How a therapist's agenda names an appointment's status (agenda.js uses the same words)."""
    if modality == "virtual" and status == "checked_in":
        return "waiting in the visit room"
    if status == "in_progress":
        return "in the visit"
    return status.replace("_", " ")


def tel_href(phone: str) -> str:
    """A phone number as a call link: "tel:" and its digits (a leading + kept); an extension
    ("ext. 2", "x2") is left to the person calling, not dialled into the number."""
    number = re.split(r"[A-Za-z#]", phone, maxsplit=1)[0]
    digits = "".join(c for c in number if c.isdigit())
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + digits


def plural(count: int, word: str) -> str:
    """'1 unit', '2 units', '0 notes': a count with its word, singular only for one."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _local_time(value: datetime | None, zone: str, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).strftime(fmt)


def reads_12_hour_clock(request: web.Request) -> bool:
    """Whether the person asking reads a 12-hour clock, from their browser's languages."""
    return uses_12_hour_clock(request.headers.get("Accept-Language", ""))


def render(
    request: web.Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    """Render a page with the signed-in person, their CSRF token and the request id."""
    current = request.get(CURRENT_SESSION)
    page: dict[str, Any] = {
        "actor": current.actor if current else None,
        "csrf_token": current.csrf_token if current else request.get(ANONYMOUS_CSRF, ""),
        "request_id": request.get(REQUEST_ID, ""),
        "path": request.path,
        "settings": request.app[SETTINGS],
        "hour12": reads_12_hour_clock(request),
    }
    page.update(context or {})
    html = request.app[TEMPLATES].render(name, page)
    return web.Response(text=html, content_type="text/html", status=status)
