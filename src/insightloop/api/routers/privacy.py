"""Privacy endpoints (admin only): the audit log, and an erasure started as a job."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from insightloop.api.errors import SECURED, ApiError, responses
from insightloop.api.server import requires, server_of
from insightloop.services.keys import KeyRecord
from insightloop.services.privacy import erase_customer
from insightloop.services.results.privacy import AuditList, AuditRow, ErasureResult
from insightloop.storage.ids import normalize_id
from insightloop.storage.operational import audit, open_ops

router = APIRouter(tags=["privacy"])


@router.get("/audit", dependencies=[requires("admin")], summary="The audit log (admin)",
            response_model=AuditList, responses=responses(*SECURED, 422),
            description="Entries oldest first, from `since` on and by `actor` when given; "
            "each names the actor (key id and role), the action (method and route template) "
            "and the status, never personal data.")
def audit_log(request: Request,
              since: Annotated[str | None, Query(max_length=40)] = None,
              actor: Annotated[str | None, Query(max_length=64)] = None,
              limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> AuditList:
    when = None
    if since is not None:
        try:
            when = datetime.fromisoformat(since)
        except ValueError:
            raise ApiError(422, "invalid_parameter", f"since {since!r} is not a date; write "
                           "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS") from None
    trail = getattr(request.app.state, "audit_trail", None)
    if trail is not None:
        trail.flush()  # the requests so far are in the answer
    rows = audit.entries(open_ops(server_of(request).settings), when, actor, limit)
    return {"entries": cast("list[AuditRow]", rows), "count": len(rows)}


class EraseRequest(BaseModel):
    customer_id: str = Field(min_length=1, max_length=200,
                             description="the customer id, as ingested")


@router.post("/privacy/erase", summary="Erase one customer, proven (admin)",
             response_model=ErasureResult, responses=responses(*SECURED, 409, 413, 422),
             description="Runs `insightloop privacy erase` now, under the warehouse's write "
             "lock (waits for running reads and jobs): the customer's rows, files, model "
             "versions and operational records removed, storage rewritten, then verified. "
             "The answer holds counts and the verification, never the erased values.")
def erase(request: Request, body: EraseRequest,
          key: Annotated[KeyRecord, requires("admin")]) -> ErasureResult:
    srv = server_of(request)
    result = srv.write(erase_customer, srv.ctx, normalize_id(body.customer_id),
                       actor=f"key:{key.key_id}/{key.role}")
    srv.cache.clear()
    srv.store.refresh()  # the serving store was removed with the customer in it
    return result
