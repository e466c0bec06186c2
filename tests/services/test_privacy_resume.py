"""Erasure is resumable (a crash half-way, then a re-run completes it from the step where it
stopped, with the e-mail it had collected before the customers row went) and generated
from the declarations (a toy capability's table, keyed by a column not named customer_id,
is erased with no change to the privacy code)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select

from contexts import ctx_of
from insightloop import capabilities
from insightloop.capabilities.spec import Capability, Table
from insightloop.services.privacy import erase as erase_module
from insightloop.services.privacy import erase_customer
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.privacy_models import ErasureRequest

WHO = "17850"
EMAIL = "jane.doe@example.com"


def _add_customer(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO customers (customer_id, email, name) VALUES (?, ?, 'Jane Doe')",
                    [WHO, EMAIL])
        con.execute("CREATE TABLE notes (note VARCHAR)")
        con.execute("INSERT INTO notes VALUES ('call jane.doe@example.com')")


def test_a_crash_half_way_resumes_and_completes(wh: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    _add_customer(wh)
    ctx = ctx_of(wh)

    def crash(*_args: object) -> list[object]:
        raise RuntimeError("power cut")

    monkeypatch.setattr(erase_module.files, "retire_models", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        erase_customer(ctx, WHO)
    store = open_ops(ctx.settings)
    with store.read() as conn:
        (row,) = conn.execute(select(ErasureRequest.status, ErasureRequest.steps,
                                     ErasureRequest.subject)).all()
    assert row.status == "running" and row.steps == ["warehouse", "ops"]
    assert row.subject["emails"] == [EMAIL]  # kept while it runs
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM customers WHERE customer_id = ?", [WHO]
                           ).fetchone() == (0,)
    monkeypatch.undo()

    done = erase_customer(ctx, WHO)
    assert done["resumed"] and not done["already_erased"]
    assert done["steps"] == ["warehouse", "ops", "models", "files", "rewrite"]
    assert done["verification"]["clean"]
    assert done["verification"]["searched"] == ["customer_id", "email", "name"]
    assert done["warehouse"]["scrubbed"] == {"notes.note": 1}  # undeclared text too
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT note FROM notes").fetchall() == [("call [erased]",)]
    with store.read() as conn:
        (after,) = conn.execute(select(ErasureRequest.status, ErasureRequest.subject)).all()
    assert after.status == "done" and after.subject is None
    assert WHO.encode() not in Path(str(wh).replace(".duckdb", ".ops.sqlite")).read_bytes()


def test_a_new_capabilitys_table_is_erased_without_a_code_change(
        wh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toy = Capability(name="toy", summary="toy", tables=(
        Table("toy_visits", "customer", customer="visitor", personal=("remark",)),))
    monkeypatch.setattr(capabilities, "CAPABILITIES", (*capabilities.CAPABILITIES, toy))
    with duckdb.connect(str(wh)) as con:
        con.execute("CREATE TABLE toy_visits (visitor VARCHAR, remark VARCHAR)")
        con.execute("INSERT INTO toy_visits VALUES (?, 'first'), ('13047', 'met 17850 here')",
                    [WHO])
    result = erase_customer(ctx_of(wh), WHO)
    assert result["warehouse"]["deleted"]["toy_visits"] == 1
    assert result["warehouse"]["undeclared"] == []
    assert result["warehouse"]["scrubbed"] == {"toy_visits.remark": 1}
    assert result["verification"]["clean"]
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT * FROM toy_visits").fetchall() == [
            ("13047", "met [erased] here")]
