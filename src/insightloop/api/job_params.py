"""Job kinds, their typed parameters and what a job runs, generated from the capability
declarations (:func:`insightloop.capabilities.jobs`) plus the API's own ``demo`` job.

Parameters are checked when a job is submitted (422) and again when a server process picks
it up; a job runs ``resolve(job.run)(ctx, **params)`` (:func:`prepare`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from typing_extensions import TypedDict

from insightloop import capabilities
from insightloop.capabilities.spec import Job, Params, resolve, trim
from insightloop.errors import ConfigError
from insightloop.services.context import Context

#: The API's own job: the whole demo, on an empty warehouse only (admin role).
DEMO = Job("demo", run="insightloop.services.demo:demo_job",
           summary="Run the whole demo on an empty warehouse (admin key)")


class JobKind(TypedDict):
    """A job kind: its name, what it does, the JSON schema of its parameters."""

    kind: str
    summary: str
    params: dict[str, Any]


class JobKinds(TypedDict):
    """Every job kind ``POST /api/v1/jobs`` accepts."""

    items: list[JobKind]


def kinds() -> dict[str, Job]:
    """Every job kind the API accepts, in registry order, ``demo`` last."""
    return {**capabilities.jobs(), DEMO.kind: DEMO}


def param_names(params: type[Params]) -> list[str]:
    """The names a request gives the parameters (a field's alias when it has one)."""
    return [f.alias or name for name, f in params.model_fields.items()]


def describe() -> list[JobKind]:
    """Each kind with its summary and the JSON schema of its parameters."""
    return [{"kind": j.kind, "summary": j.summary,
             "params": j.params.model_json_schema(by_alias=True)} for j in kinds().values()]


def validate_params(kind: str, params: dict[str, Any]) -> Params:
    """The typed parameters of a job, or :class:`ConfigError` naming the parameter."""
    job = kinds().get(kind)
    if job is None:
        raise ConfigError(f"kind must be one of {tuple(kinds())}, got {kind[:80]!r}")
    try:
        return job.params.model_validate(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "params"
        text = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        if first.get("type") == "extra_forbidden":
            known = ", ".join(param_names(job.params)) or "none"
            text = f"unknown parameter for a {kind} job (parameters: {known})"
        raise ConfigError(f"params.{where}: {text}") from exc


def public(params: Params) -> dict[str, Any]:
    """The parameters as a request names them (stored with the job, shown by the API)."""
    return params.model_dump(by_alias=True)


def _inside(root: Path | None, value: str, kind: str, name: str) -> str:
    if root is None:
        raise ConfigError(f"{kind} jobs are off: start the server with --ingest-root FOLDER")
    base = root.resolve()
    try:
        path = (base / value).resolve()
        inside = path.is_relative_to(base) and path.is_file()
    except (OSError, ValueError):
        inside = False
    if not inside:
        raise ConfigError(f"params.{name} must name a file inside the ingest root")
    return str(path)


def prepare(kind: str, params: Params, root: Path | None, ctx: Context
            ) -> Callable[[Context], Any]:
    """What a job runs, checked now (files inside the ingest root, the declared check):
    called with the context, it returns the job's result."""
    job = kinds()[kind]
    args = params.model_dump()
    for name in job.files:
        args[name] = _inside(root, str(args[name]), kind, name)
    if job.check is not None:
        resolve(job.check)(ctx, **args)
    run = resolve(job.run)
    return lambda c: trim(run(c, **args), job.keep)
