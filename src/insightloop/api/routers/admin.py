"""Health (open), jobs (write role to start, read to watch) and API keys (admin)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from insightloop import __version__
from insightloop.api.errors import SECURED, ApiError, responses
from insightloop.api.job_params import JobKinds, describe, kinds, param_names
from insightloop.api.server import requires, server_of
from insightloop.services.keys import (
    KeyRecord,
    create_key,
    list_keys,
    revoke_key,
    role_allows,
)
from insightloop.services.results import Health, JobInfo, JobList, KeyInfo, KeyList, NewKey

router = APIRouter()


@router.get("/health", tags=["health"], summary="Liveness (no key needed)",
            response_model=Health)
def health(request: Request) -> Health:
    srv = server_of(request)
    return {"status": "ok", "version": __version__,
            "warehouse": srv.settings.warehouse.exists(), "generation": srv.gate.generation}


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Kinds and parameters come from the capability declarations (GET /jobs/kinds).
    kind: str = Field(max_length=80, json_schema_extra={"enum": list(kinds())})
    params: dict[str, str | int | float | bool] = Field(
        default_factory=dict, max_length=20,
        description="; ".join(f"{k}: {', '.join(param_names(j.params))}"
                              for k, j in kinds().items() if j.params.model_fields)
        + ". Other kinds take none; unknown names are refused (GET /jobs/kinds).")


@router.post("/jobs", status_code=202, tags=["jobs"], summary="Start a job",
             response_model=JobInfo, responses=responses(*SECURED, 409, 413, 422))
def start_job(request: Request, body: JobRequest,
              key: Annotated[KeyRecord, requires("write")]) -> JobInfo:
    """Queue an ingest/build/train job; it runs in the background, one at a time.
    Poll ``GET /api/v1/jobs/{id}``. Parameters are checked now (422); a full queue answers
    429 with ``Retry-After``; ``demo`` needs an admin key and an empty warehouse (409)."""
    if body.kind == "demo" and not role_allows(key.role, "admin"):
        raise ApiError(403, "forbidden", f"the demo job needs the 'admin' role; the key has "
                       f"{key.role!r}")
    job = server_of(request).jobs.submit(body.kind, dict(body.params), key.key_id)
    return cast(JobInfo, job.public())


@router.get("/jobs", dependencies=[requires("read")], tags=["jobs"], summary="Recent jobs",
            response_model=JobList, responses=responses(*SECURED))
def jobs(request: Request) -> JobList:
    return {"items": [cast(JobInfo, j.public()) for j in server_of(request).jobs.list()]}


@router.get("/jobs/kinds", dependencies=[requires("read")], tags=["jobs"],
            summary="Job kinds and their parameters", response_model=JobKinds,
            responses=responses(*SECURED))
def job_kinds() -> JobKinds:
    """Every kind ``POST /jobs`` accepts, from the capability declarations, with the JSON
    schema of its parameters."""
    return {"items": describe()}


@router.get("/jobs/{job_id}", dependencies=[requires("read")], tags=["jobs"],
            summary="Job status", response_model=JobInfo,
            responses=responses(*SECURED, 404, 422))
def job(request: Request,
        job_id: Annotated[str, Path(min_length=1, max_length=64)]) -> JobInfo:
    found = server_of(request).jobs.get(job_id)
    if found is None:
        raise ApiError(404, "not_found", f"no job with id {job_id!r}")
    return cast(JobInfo, found.public())


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["read", "write", "admin"]
    name: Annotated[str, Field(max_length=100)] = ""


@router.get("/keys", dependencies=[requires("admin")], tags=["keys"], summary="API keys",
            response_model=KeyList, responses=responses(*SECURED))
def keys(request: Request) -> KeyList:
    """Every key's id, role, name and dates (never the key or its hash)."""
    srv = server_of(request)
    return {"items": list_keys(srv.ctx)}


@router.post("/keys", status_code=201, dependencies=[requires("admin")], tags=["keys"],
             summary="Create an API key", response_model=NewKey,
             responses=responses(*SECURED, 413, 422))
def new_key(request: Request, body: KeyRequest) -> NewKey:
    """The response holds the key itself: the only time it is shown."""
    srv = server_of(request)
    out = create_key(srv.ctx, body.role, body.name)
    srv.keys.reload()
    return cast(Any, out)


@router.delete("/keys/{key_id}", dependencies=[requires("admin")], tags=["keys"],
               summary="Revoke an API key", response_model=KeyInfo,
               responses=responses(*SECURED, 404, 422))
def drop_key(request: Request,
             key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]) -> KeyInfo:
    srv = server_of(request)
    out = revoke_key(srv.ctx, key_id)
    srv.keys.reload()
    return cast(Any, out)
