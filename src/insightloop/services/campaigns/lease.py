"""One run at a time per campaign: a lease on the campaign's row.

Two overlapping runs of one campaign would each see the other's claimed rows as a crashed
run's and send them again. So a run takes the campaign's lease (``host:pid:token`` and an
expiry) in the same transaction that checks its definition, renews it after every batch and
gives it back at the end. A second run is refused while the lease holds; the lease of a run
that died (``kill -9``) is taken over at once on the same machine (its process is gone) and
after :data:`LEASE_S` seconds from another machine.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import datetime

from sqlalchemy import Connection, select, update

from insightloop.errors import WarehouseError
from insightloop.storage.operational.campaign_models import CampaignDef
from insightloop.storage.operational.engine import OpsStore

LEASE_S = 120.0


def new_owner() -> str:
    """This run's name: host, process and a token (threads of one process differ too)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _alive(owner: str) -> bool:
    parts = owner.split(":")
    host, pid = parts[0], parts[1] if len(parts) > 1 else ""
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's run: only its expiry frees it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def take(conn: Connection, cid: str, owner: str, now: float | None = None) -> None:
    """Take the lease inside the caller's write transaction (refused while another live
    run holds it)."""
    at = time.time() if now is None else now
    row = conn.execute(select(CampaignDef.lease_owner, CampaignDef.lease_until)
                       .where(CampaignDef.id == cid)).first()
    if row is not None and row.lease_owner and row.lease_owner != owner and \
            (row.lease_until or 0) > at and _alive(row.lease_owner):
        until = datetime.fromtimestamp(float(row.lease_until)).isoformat(timespec="seconds")
        raise WarehouseError(f"campaign {cid!r} is being sent by another run "
                             f"({row.lease_owner}, lease until {until}); wait for it to "
                             "finish and run again (nothing was sent by this one)")
    conn.execute(update(CampaignDef).where(CampaignDef.id == cid).values(
        lease_owner=owner, lease_until=at + LEASE_S))


def renew(store: OpsStore, cid: str, owner: str) -> None:
    with store.write() as conn:
        conn.execute(update(CampaignDef).where(CampaignDef.id == cid,
                                               CampaignDef.lease_owner == owner)
                     .values(lease_until=time.time() + LEASE_S))


def give_back(store: OpsStore, cid: str, owner: str) -> None:
    with store.write() as conn:
        conn.execute(update(CampaignDef).where(CampaignDef.id == cid,
                                               CampaignDef.lease_owner == owner)
                     .values(lease_owner=None, lease_until=None))
