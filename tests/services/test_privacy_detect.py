"""Personal data detection on known strings: e-mail, phones (China mobile/landline, UK, US),
Chinese resident IDs with the check character verified, customer names, Chinese person
names (jieba), and the scan/map services over a warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from contexts import ctx_of
from insightloop.errors import NotFoundError
from insightloop.services.privacy import personal_map, scan_personal
from insightloop.services.privacy.detect import chinese_names, scan_column, valid_cn_ids

TEXTS = [
    ("mail me at a.b@x.co.uk", {"email"}),
    ("call 13812345678 tonight", {"phone_cn_mobile"}),
    ("或者 +8613912345678", {"phone_cn_mobile"}),
    ("办公室 010-12345678", {"phone_cn_landline"}),
    ("ring 07700 900123", {"phone_uk"}),
    ("office 020 7946 0958", {"phone_uk"}),
    ("US (415) 555-2671", {"phone_us"}),
    ("身份证 11010519491231002X 好", {"id_cn"}),
    ("wrong check 110105194912310021", set()),
    ("ask Jane Doe about it", {"name_customer"}),
    ("order 536365 qty 12 on 2011-12-09", set()),
    ("phone 1381234567 is one digit short", set()),
]


def test_check_character_of_chinese_ids() -> None:
    # 11010519491231002X is the standard's example; changing the last character breaks it
    assert valid_cn_ids(["11010519491231002X", "110105194912310021",
                         "11010519491231002x"]).tolist() == [True, False, True]


@pytest.mark.parametrize(("text", "kinds"), TEXTS)
def test_each_kind_found_and_nothing_else(text: str, kinds: set[str]) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE customers (customer_id VARCHAR, name VARCHAR)")
    con.execute("INSERT INTO customers VALUES ('1', 'Jane Doe')")
    con.execute("CREATE TABLE notes (body VARCHAR)")
    con.execute("INSERT INTO notes VALUES (?)", [text])
    assert set(scan_column(con, "notes", "body")) == kinds


def test_chinese_person_names() -> None:
    assert chinese_names("张伟说质量很好，李娜也买了") == ["张伟", "李娜"]
    assert chinese_names("质量很好，物流很快") == []


def test_scan_and_map_of_a_warehouse(wh: Path) -> None:
    with duckdb.connect(str(wh)) as con:
        con.execute("INSERT INTO customers (customer_id, email, name) VALUES "
                    "('17850', 'jane@example.com', 'Jane Doe')")
        con.execute("INSERT INTO quarantine VALUES ('i', 'orders', 'f.csv', NULL, 2, 'x', "
                    "'bad', 'Jane Doe,13812345678', now())")
    ctx = ctx_of(wh)
    found = scan_personal(ctx)["found"]
    assert found["quarantine"]["raw"] == {"phone_cn_mobile": 1, "name_customer": 1}
    assert found["customers"]["email"] == {"email": 1}
    mapped = personal_map(ctx)["tables"]
    assert mapped["customers"]["personal"][:2] == ["email", "name"]
    assert mapped["orders"]["customer"] == "customer_id" and mapped["orders"]["rows"] > 0
    with pytest.raises(NotFoundError, match="'nope' is not in the warehouse"):
        scan_personal(ctx, "nope")
