"""Saved audiences: list, read (live count and sample), count a filter, create, delete.

Filters are the audience language (``docs/audiences.md``); a filter that does not parse or
names an unknown column is a 422 whose message gives the position and the token. Creating
and deleting need the ``write`` role; reading and counting, ``read``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from insightloop.api.errors import READ, SECURED, responses
from insightloop.api.server import requires, server_of
from insightloop.features.audiences import MAX_LENGTH
from insightloop.services.audiences import (
    create_audience,
    delete_audience,
    describe_audience,
    get_audience,
    list_audiences,
)
from insightloop.services.keys import KeyRecord
from insightloop.services.results.audiences import (
    AudienceCount,
    AudienceDeleted,
    AudienceInfo,
    AudienceSaved,
    AudienceSummary,
)

router = APIRouter()
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
AudienceName = Annotated[str, Path(min_length=1, max_length=100, pattern=NAME,
                                   description="The audience's name.")]
Where = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH,
                             description="Filter, e.g. \"recency_days > 90 and segment = "
                                         "'at risk'\" (docs/audiences.md).")]


class AudienceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, pattern=NAME)
    where: Where
    description: str = Field("", max_length=2_000)


class CountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    where: Where
    sample: int = Field(10, ge=0, le=100, description="Members to return (first by id).")


class AudienceList(BaseModel):
    audiences: list[AudienceSummary]


@router.get("/audiences", dependencies=[requires("read")], tags=["audiences"],
            summary="Saved audiences", response_model=AudienceList,
            responses=responses(*READ, 409))
def list_all(request: Request) -> AudienceList:
    """Every saved audience (latest version) with its live count; ``live_error`` says why a
    filter no longer runs (a column that is gone)."""
    return AudienceList(audiences=server_of(request).query(list_audiences))


@router.post("/audiences/count", dependencies=[requires("read")], tags=["audiences"],
             summary="Count a filter", response_model=AudienceCount,
             responses=responses(*READ, 409, 413, 422))
def count(request: Request, body: CountRequest) -> AudienceCount:
    """How many customers a filter selects now, its canonical form and a sample; nothing is
    saved. 422: the filter is wrong (the message names the position)."""
    return server_of(request).query(describe_audience, body.where, sample=body.sample)


@router.post("/audiences", status_code=201, tags=["audiences"], summary="Save an audience",
             response_model=AudienceSaved, responses=responses(*READ, 409, 413, 422))
def create(request: Request, body: AudienceRequest,
           key: Annotated[KeyRecord, requires("write")]) -> AudienceSaved:
    """Save a filter under a name: version 1, the next version when the filter differs from
    the latest, unchanged (``created`` false) when it is the same filter."""
    return server_of(request).query(create_audience, body.name, body.where, body.description,
                                    f"key {key.key_id} ({key.name})")


@router.get("/audiences/{name}", dependencies=[requires("read")], tags=["audiences"],
            summary="An audience", response_model=AudienceInfo,
            responses=responses(*READ, 404, 409, 422))
def show(request: Request, name: AudienceName,
         version: Annotated[int | None, Query(ge=1, description="A past version.")] = None,
         sample: Annotated[int, Query(ge=0, le=100, description="Members to return.")] = 10,
         ) -> AudienceInfo:
    """A saved audience with its versions, live count and first members; 404 if unknown."""
    return server_of(request).query(get_audience, name, version, sample=sample)


@router.delete("/audiences/{name}", dependencies=[requires("write")], tags=["audiences"],
               summary="Delete an audience", response_model=AudienceDeleted,
               responses=responses(*SECURED, 404, 422))
def delete(request: Request, name: AudienceName) -> AudienceDeleted:
    """Delete every version of an audience; 404 if unknown."""
    return delete_audience(server_of(request).ctx, name)
