"""JSON:API documents as Terraform Enterprise writes them, declared with pydantic.

A resource is ``{"id", "type", "attributes", "relationships", "links"}``; attributes are
kebab-case (``auto-apply``), which the models declare once through an alias generator, so
Python code uses snake_case names. go-tfe is strict about two things: the ``type`` must be
TFE's exact name (``workspaces``, not ``workspace``), and a resource without an ``id`` is
dropped silently.
"""

import json
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.event_handler import Response
from pydantic import ConfigDict, Field

from iacp.model import Model

MEDIA_TYPE = "application/vnd.api+json"


def kebab(name: str) -> str:
    return name.replace("_", "-")


class Attributes(Model):
    """A resource's attributes: kebab-case on the wire; unknown ones a client sends are
    ignored, as TFE ignores them."""

    model_config = ConfigDict(alias_generator=kebab, populate_by_name=True, extra="ignore")


class Ref(Model):
    """A resource identifier, as relationships carry it."""

    id: str
    type: str


class Relationship(Model):
    data: Ref | list[Ref] | None = None
    links: dict[str, str] | None = None

    @classmethod
    def to(cls, type_: str, id_: str | None) -> "Relationship":
        return cls(data=None if id_ is None else Ref(id=id_, type=type_))


A = TypeVar("A", bound=Attributes)


class Resource(Model, Generic[A]):
    id: str
    type: str
    attributes: A
    relationships: dict[str, Relationship] = Field(default_factory=dict)
    links: dict[str, str] = Field(default_factory=dict)


class Document(Model):
    """A reply: one resource or a list, the resources they include, and list metadata."""

    data: Any
    included: list[Resource[Any]] | None = None
    links: dict[str, str | None] | None = None
    meta: dict[str, Any] | None = None


class NewResource(Model, Generic[A]):
    """A resource as a client sends it to create or update one (no id yet, or the path's)."""

    model_config = ConfigDict(extra="ignore")

    type: str
    id: str | None = None
    attributes: A
    relationships: dict[str, Relationship] = Field(default_factory=dict)


class Request(Model, Generic[A]):
    """A request body: ``{"data": {"type", "attributes", "relationships"}}``."""

    model_config = ConfigDict(extra="ignore")

    data: NewResource[A]


def reply(
    document: Document, status: int = 200, headers: dict[str, str] | None = None
) -> Response[str]:
    """The document as TFE sends it: kebab-case attributes, empty members left out."""
    body = document.model_dump(mode="json", by_alias=True, exclude_none=True)
    return Response(
        status_code=status,
        content_type=MEDIA_TYPE,
        body=json.dumps(body, separators=(",", ":")),
        headers=headers,
    )


def page_meta(page: int, size: int, total: int) -> dict[str, Any]:
    """TFE's ``meta.pagination`` of a list reply."""
    pages = max(1, -(-total // size))
    return {
        "pagination": {
            "current-page": page,
            "page-size": size,
            "prev-page": page - 1 if page > 1 else None,
            "next-page": page + 1 if page < pages else None,
            "total-pages": pages,
            "total-count": total,
        }
    }
