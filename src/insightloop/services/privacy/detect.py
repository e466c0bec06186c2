"""Personal data in free text, English and Chinese: e-mail addresses, phone numbers
(mainland China mobiles ``1[3-9]`` + 9 digits with or without ``+86``, Chinese landlines
``0AA(A)-NNNNNNN(N)``, UK and US formats), Chinese resident ID numbers (18 characters, the
ISO 7064 MOD 11-2 check character verified), and names: the customers table's names as a
dictionary (English and any other script) and Chinese person names tagged ``nr`` by jieba's
part-of-speech tagger.

The patterns run in DuckDB (RE2, vectorised over the column); only the ID candidates'
checksums (numpy) and the jieba tagging (on at most :data:`MAX_TAGGED` rows holding Chinese
characters per column) run in Python.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import duckdb
import numpy as np

from insightloop.storage.sql import ident, literal

log = logging.getLogger(__name__)
_NOT_DIGIT = r"(?:^|[^0-9])"
_END = r"(?:[^0-9]|$)"
#: kind -> RE2 pattern (group 1 is the match where a boundary is consumed).
PATTERNS: dict[str, str] = {
    "email": r"([A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})",
    "phone_cn_mobile": _NOT_DIGIT + r"((?:\+?86[ \-]?)?1[3-9][0-9]{9})" + _END,
    "phone_cn_landline": _NOT_DIGIT + r"((?:\+?86[ \-]?)?0[1-9][0-9]{1,2}-[0-9]{7,8})" + _END,
    "phone_uk": _NOT_DIGIT + r"((?:\+44 ?|0)7[0-9]{3} ?[0-9]{3} ?[0-9]{3}|"
                             r"(?:\+44 ?|0)[12][0-9]{1,3} ?[0-9]{3,4} ?[0-9]{3,4})" + _END,
    "phone_us": _NOT_DIGIT + r"((?:\+1[ .\-]?)?\(?[2-9][0-9]{2}\)?[ .\-][0-9]{3}[ .\-][0-9]{4})"
                + _END,
}
_ID = _NOT_DIGIT + r"([1-9][0-9]{16}[0-9Xx])" + _END
_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK = np.array(list("10X98765432"))
MAX_TAGGED = 20_000
#: The most common Chinese surnames (single character): a jieba ``nr`` word counts as a
#: name only when it starts with one and has 2-3 characters (jieba alone tags words such as
#: 师傅 "master", 宝贝 "baby" or 美的 (a brand) ``nr``).
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤")
KINDS = (*PATTERNS, "id_cn", "name_customer", "name_zh")


def valid_cn_ids(candidates: list[str]) -> np.ndarray:
    """Which 18-character candidates carry a correct check character (vectorised)."""
    if not candidates:
        return np.zeros(0, dtype=bool)
    arr = np.array([c.upper() for c in candidates])
    digits = np.frombuffer("".join(c[:17] for c in arr).encode("ascii"),
                           dtype=np.uint8).reshape(-1, 17).astype(np.int64) - 48
    expected = _CHECK[(digits @ _WEIGHTS) % 11]
    return np.asarray(expected == np.array([c[17] for c in arr]))


def scan_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> dict[str, int]:
    """Rows of ``table.column`` holding each kind of personal data (kinds found only)."""
    col = f"CAST({ident(column)} AS VARCHAR)"
    sums = ", ".join(f"count(*) FILTER (WHERE regexp_matches({col}, {literal(p)}))"
                     for p in PATTERNS.values())
    row = con.execute(f"SELECT {sums} FROM {ident(table)}").fetchone() or ()
    found = {k: int(n) for k, n in zip(PATTERNS, row, strict=True) if n}
    ids = con.execute(f"SELECT rid, unnest(regexp_extract_all({col}, {literal(_ID)}, 1)) "
                      f"FROM (SELECT rowid AS rid, {ident(column)} FROM {ident(table)} "
                      f"WHERE regexp_matches({col}, {literal(_ID)}))").fetchall()
    if ids:
        ok = valid_cn_ids([str(c) for _, c in ids])
        n = len({rid for (rid, _), good in zip(ids, ok, strict=True) if good})
        if n:
            found["id_cn"] = n
    names = _customer_names(con, table, column)
    if names:
        found["name_customer"] = names
    zh = _chinese_names(con, table, column)
    if zh:
        found["name_zh"] = zh
    return found


def _customer_names(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    """Rows whose text holds a customer's name (names of 5+ characters, case-insensitive)."""
    has = con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                      "'customers' AND column_name = 'name'").fetchone()
    if table == "customers" or not has or not has[0]:
        return 0
    row = con.execute(
        f"SELECT count(DISTINCT t.rowid) FROM {ident(table)} t JOIN (SELECT DISTINCT "
        f"lower(trim(name)) AS n FROM customers WHERE length(trim(name)) >= 5) c "
        f"ON contains(lower(CAST(t.{ident(column)} AS VARCHAR)), c.n)").fetchone()
    return int(row[0]) if row else 0


def _chinese_names(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    """Rows (of the first :data:`MAX_TAGGED` holding Chinese) with a person name (jieba)."""
    texts = [r[0] for r in con.execute(
        f"SELECT CAST({ident(column)} AS VARCHAR) FROM {ident(table)} WHERE regexp_matches("
        f"CAST({ident(column)} AS VARCHAR), '[\\x{{4e00}}-\\x{{9fff}}]') LIMIT {MAX_TAGGED}"
    ).fetchall()]
    if not texts:
        return 0
    return sum(1 for t in texts if chinese_names(t))


#: A word jieba's dictionary holds at least this often is a common word (顾客 "customer",
#: 谢谢 "thanks", 毛巾 "towel" are in it tagged ``nr``): a name only with a cue beside it.
COMMON = 50
#: ... and at least this often, only with a strong cue (@, a title after, 叫/姓 before).
VERY_COMMON = 1000
#: A title after a word, or a word before it, that marks a person's name.
_TITLES = ("先生", "女士", "小姐", "老师", "经理", "同学", "师傅", "医生", "总", "阿姨")
_BEFORE = ("@", "叫", "名叫", "姓", "朋友", "同事")
#: Verbs right after a word that make a person likely (a weak cue).
_AFTER = ("说", "也", "告诉", "推荐", "觉得", "买")


def chinese_names(text: str) -> list[str]:
    """Person names in Chinese text: jieba's ``nr`` words of 2-3 characters starting with a
    common surname (:data:`SURNAMES`; not the same character twice, not a surname and a
    title such as 杨先生), kept when jieba found
    them outside its dictionary (a new word), or the dictionary holds them rarely
    (< :data:`COMMON`), or a cue stands beside them: ``@`` or 叫/姓 before or a title after
    (strong), or a verb such as 说 after (weak: enough below :data:`VERY_COMMON`)."""
    with warnings.catch_warnings():  # jieba 0.42 imports the deprecated pkg_resources
        warnings.simplefilter("ignore")
        # lazy: jieba (1.1 s and a dictionary) only when Chinese text is scanned
        import jieba
        import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    words = list(jieba.posseg.cut(text))
    freq = jieba.dt.FREQ
    found = []
    for i, w in enumerate(words):
        name = w.word
        if w.flag != "nr" or not 2 <= len(name) <= 3 or name[0] not in SURNAMES \
                or name[1] == name[0] or name[1:] in _TITLES:  # 杨先生: a surname, a title
            continue
        before = words[i - 1].word if i else ""
        after = words[i + 1].word if i + 1 < len(words) else ""
        strong = before.endswith(_BEFORE) or after.startswith(_TITLES)
        weak = after.startswith(_AFTER)
        seen = freq.get(name) or 0
        if seen < COMMON or strong or (weak and seen < VERY_COMMON):
            found.append(name)
    return found


def scan(con: duckdb.DuckDBPyConnection, columns: dict[str, list[str]]) -> dict[str, Any]:
    """``{table: {column: {kind: rows}}}`` for the given text columns (empty ones left out)."""
    out: dict[str, Any] = {}
    for table, cols in columns.items():
        for column in cols:
            found = scan_column(con, table, column)
            if found:
                out.setdefault(table, {})[column] = found
    return out
