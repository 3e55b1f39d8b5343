"""JSON API routes declared once: the same pydantic models validate requests and generate OpenAPI.

    api = Api()
    @api.post("/auth/login", body=LoginIn, response=LoginOut, summary="Sign in", auth=False)
    async def login(request: web.Request, body: LoginIn) -> LoginOut: ...

Validation happens here, once: a bad body never reaches a handler, and is answered 400/415/422 in
the project's error shape.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError
from pydantic.json_schema import models_json_schema

from telehealth.error_codes import DESCRIPTIONS, ErrorCode
from telehealth.errors import DomainError, InvalidInput, NotFound
from telehealth.http.auth import request_work, session_in_work
from telehealth.http.context import require_actor
from telehealth.http.keys import CURRENT_SESSION
from telehealth.http.schemas import validation_details

PREFIX = "/api/v1"
ApiHandler = Callable[..., Awaitable[Any]]


class MalformedJson(DomainError):
    """The body is not JSON at all."""

    status = 400
    code = ErrorCode.MALFORMED_JSON


class UnsupportedMediaType(DomainError):
    """The body is not declared as JSON."""

    status = 415
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE


# Every code and its meaning, in the document itself: clients branch on the code.
CODES_DESCRIPTION = "What went wrong, for programs to branch on:\n\n" + "\n".join(
    f"- `{code.value}`: {DESCRIPTIONS[code]}" for code in ErrorCode
)


class ErrorDetail(BaseModel):
    """The inside of every error answer."""

    code: ErrorCode = Field(description=CODES_DESCRIPTION)
    message: str
    details: Any = None
    request_id: str | None = None


class ErrorResponse(BaseModel):
    """The one error shape of the API."""

    error: ErrorDetail


@dataclass(frozen=True)
class Operation:
    """One documented API operation."""

    method: str
    path: str
    summary: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: bool
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    raw_response: str | None = None
    # Named error codes this operation answers besides the common ones (listed in OpenAPI).
    errors: tuple[ErrorCode, ...] = ()
    raw_schema: dict[str, Any] | None = None
    also: tuple[int, ...] = ()


def path_uuid(request: web.Request, name: str) -> uuid.UUID:
    """A UUID from the URL; anything else is simply not found."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise NotFound("No such object.") from None


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    """Validate a JSON body against model."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    raw = await request.read()
    if not raw.strip():
        raise InvalidInput(
            "The request body is empty.", details=[{"field": "(body)", "problem": "required"}]
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise MalformedJson("The request body is not valid JSON.") from None
        raise InvalidInput(
            "Some fields are missing or not valid.", details=validation_details(exc)
        ) from None


def parse_query(request: web.Request, model: type[BaseModel]) -> BaseModel:
    """Validate query parameters against model (lax: query values are strings)."""
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise InvalidInput(
            "Some query parameters are not valid.", details=validation_details(exc)
        ) from None


@dataclass
class Api:
    """Collects operations; setup() adds them to an app together with /api/v1/openapi.json."""

    title: str = "Virtual PT clinic API"
    version: str = "1"
    operations: list[Operation] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tags: tuple[str, ...] = (),
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        auth: bool = True,
        raw_response: str | None = None,
        errors: tuple[ErrorCode, ...] = (),
        raw_schema: dict[str, Any] | None = None,
        also: tuple[int, ...] = (),
    ) -> Callable[[ApiHandler], ApiHandler]:
        """Register a handler; it receives body=/query= already validated.

        A handler that takes `uow` runs in the request's one unit of work (`request_work`):
        the session lookup, its service calls (their `*_in` cores) and all their audit records
        share one transaction, reading work for GET. The body and query are checked before it
        opens.

        raw_response names the media type of a body the handler builds itself (raw_schema its
        JSON schema, a string by default); also lists other success statuses the handler answers
        with the same response model (201 created, 200 already there).
        """

        def decorate(fn: ApiHandler) -> ApiHandler:
            params = inspect.signature(fn).parameters
            in_work = "uow" in params

            async def run(request: web.Request, kwargs: dict[str, Any]) -> Any:
                if not in_work:
                    return await fn(request, **kwargs)
                async with request_work(request, reads_only=method == "GET") as uow:
                    if auth:
                        require_actor(request)
                    return await fn(request, uow=uow, **kwargs)

            @functools.wraps(fn)
            async def handler(request: web.Request) -> web.StreamResponse:
                # Before the body is read, unless the session is still to be looked up (in work).
                if auth and CURRENT_SESSION in request:
                    require_actor(request)
                kwargs: dict[str, Any] = {}
                if body is not None:
                    kwargs["body"] = await parse_body(request, body)
                elif request.method in ("POST", "PUT", "PATCH") and "body" in params:
                    kwargs["body"] = None
                if query is not None:
                    kwargs["query"] = parse_query(request, query)
                result = await run(request, kwargs)
                if isinstance(result, web.StreamResponse):
                    return result
                if result is None:
                    return web.Response(status=204)
                if isinstance(result, BaseModel):
                    return web.json_response(result.model_dump(mode="json"), status=status)
                return web.json_response(result, status=status)

            self.operations.append(
                Operation(
                    method,
                    path,
                    summary,
                    tags,
                    body,
                    query,
                    response,
                    status,
                    auth,
                    session_in_work(handler) if in_work else handler,
                    raw_response,
                    errors,
                    raw_schema,
                    also,
                )
            )
            return fn

        return decorate

    def get(self, path: str, **kw: Any) -> Callable[[ApiHandler], ApiHandler]:
        """Register a GET operation."""
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[ApiHandler], ApiHandler]:
        """Register a POST operation."""
        return self.route("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[ApiHandler], ApiHandler]:
        """Register a PATCH operation."""
        return self.route("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[ApiHandler], ApiHandler]:
        """Register a PUT operation."""
        return self.route("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[ApiHandler], ApiHandler]:
        """Register a DELETE operation."""
        return self.route("DELETE", path, **kw)

    def include(self, other: Api) -> None:
        """Take over another feature's operations."""
        self.operations.extend(other.operations)

    def setup(self, app: web.Application) -> None:
        """Add every operation and the OpenAPI document to the app."""
        for op in self.operations:
            app.router.add_route(op.method, PREFIX + op.path, op.handler)
        document = self.openapi()

        async def openapi(_: web.Request) -> web.Response:
            return web.json_response(document)

        app.router.add_get(PREFIX + "/openapi.json", openapi)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document, generated from the operations' models."""
        models: list[tuple[type[BaseModel], Any]] = [(ErrorResponse, "serialization")]
        for op in self.operations:
            if op.body is not None:
                models.append((op.body, "validation"))
            if op.response is not None:
                models.append((op.response, "serialization"))
        refs, top = models_json_schema(
            list(dict.fromkeys(models)), ref_template="#/components/schemas/{model}"
        )
        schemas: dict[str, Any] = top.get("$defs", {})
        paths: dict[str, dict[str, Any]] = {}
        error_ref = refs[(ErrorResponse, "serialization")]
        for op in self.operations:
            operation: dict[str, Any] = {
                "summary": op.summary,
                "operationId": op.handler.__name__,
                "tags": list(op.tags),
                "responses": {
                    "default": {
                        "description": "Error"
                        + (f" (codes: {', '.join(op.errors)})" if op.errors else ""),
                        "content": {"application/json": {"schema": error_ref}},
                    },
                    "503": {
                        "description": "database_unavailable: the database cannot be reached or"
                        " did not answer in time; nothing was saved. Retry after Retry-After"
                        " seconds.",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": error_ref}},
                    },
                },
            }
            if op.errors:
                operation["responses"]["default"]["x-error-codes"] = list(op.errors)
            if op.response is not None:
                for status in (op.status, *op.also):
                    operation["responses"][str(status)] = {
                        "description": "OK",
                        "content": {
                            "application/json": {"schema": refs[(op.response, "serialization")]}
                        },
                    }
            elif op.raw_response:
                operation["responses"][str(op.status)] = {
                    "description": "OK",
                    "content": {op.raw_response: {"schema": op.raw_schema or {"type": "string"}}},
                }
            else:
                operation["responses"]["204"] = {"description": "Done"}
            if op.body is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
                }
            parameters = [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": _path_schema(name),
                }
                for name in _path_params(op.path)
            ]
            if op.query is not None:
                for name, info in op.query.model_json_schema()["properties"].items():
                    parameters.append(
                        {
                            "name": name,
                            "in": "query",
                            "required": name in op.query.model_json_schema().get("required", []),
                            "schema": info,
                        }
                    )
            if parameters:
                operation["parameters"] = parameters
            if op.auth:
                operation["security"] = [{"bearer": []}, {"cookie": []}]
            paths.setdefault(PREFIX + op.path, {})[op.method.lower()] = operation
        return {
            "openapi": "3.1.0",
            "info": {
                "title": self.title,
                "version": self.version,
                "description": (
                    "Text fields are stripped of surrounding whitespace before their length is "
                    "checked. Errors share one shape: {error: {code, message, details}}."
                ),
            },
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "cookie": {"type": "apiKey", "in": "cookie", "name": "th_session"},
                },
            },
        }


def _path_schema(name: str) -> dict[str, str]:
    # Ids in URLs are UUIDs by convention (`..._id`); other parameters (a date, a token) are not.
    if name.endswith("_id"):
        return {"type": "string", "format": "uuid"}
    if name == "day":
        return {"type": "string", "format": "date"}
    return {"type": "string"}


def _path_params(path: str) -> list[str]:
    return [
        part[1:-1].split(":")[0]
        for part in path.split("/")
        if part.startswith("{") and part.endswith("}")
    ]
