"""Base classes for request and response models shared by the API and OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """A request body: unknown fields are refused and types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class QueryModel(BaseModel):
    """Query parameters: strings coerced to the declared types, unknown ones refused."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    """A response body."""

    model_config = ConfigDict(from_attributes=True)
