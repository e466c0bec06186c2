"""Console entry point ``insightloop``.

Every module of this package other than ``app``, ``common`` and ``main``
registers its commands on the Typer apps in :mod:`insightloop.cli.app` when
imported; this module imports them all, then runs the app.

Conventions (``docs/cli.md``): every error prints as one line ``Error: what happened;
what to do``, or with ``--json`` as ``{"error": {"code", "message"}}``, on stderr; exit
codes are 0 ok, 1 error, 2 usage error or bad input (options, files), 130 Ctrl-C;
``--debug`` or ``INSIGHTLOOP_DEBUG=1`` adds the traceback. The global options
``--warehouse``/``-w``, ``--json`` and ``--debug`` are accepted before or after the
command; a renamed option's old spelling still works (hidden, with a warning).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
import warnings
from typing import Any, TextIO

import typer
from rich.markup import escape

import insightloop.cli as pkg
from insightloop.cli import app as app_module
from insightloop.cli.common import (
    DEBUG_ENV,
    EXIT_INTERRUPTED,
    EXIT_OK,
    describe_error,
    env_flag,
    err_console,
    error_code,
    exit_code,
    print_json_error,
)
from insightloop.cli.trail import record_run
from insightloop.logmask import install as mask_logs

_NOT_COMMANDS = {"app", "common", "main", "trail"}
_GLOBAL_FLAGS = ("--json",)
_GLOBAL_VALUED = ("--warehouse", "-w")
#: Old spellings kept as hidden aliases: command path -> {old: new}. "How many" is --top.
DEPRECATED: dict[tuple[str, ...], dict[str, str]] = {
    ("recommend",): {"--n": "--top"},
    ("recommend", "build"): {"--n": "--top"},
    ("recommend", "show"): {"--n": "--top"},
    ("similar",): {"--n": "--top"},
    ("evaluate", "recommend"): {"--k": "--top"},
    ("sentiment", "show"): {"--limit": "--top"},
    ("serving", "build"): {"--top-n": "--top"},
}


def _load_commands() -> None:
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name not in _NOT_COMMANDS:
            importlib.import_module(f"insightloop.cli.{info.name}")


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    """Warnings from the library (drift, unseen categories, ...) as one readable line."""
    err_console.print(f"[yellow]{category.__name__}[/]: {message}", highlight=False,
                      soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 error, 2 usage error or bad input,
    130 Ctrl-C).

    ``--debug`` (anywhere before a ``--``) or ``INSIGHTLOOP_DEBUG=1`` also prints the
    traceback of an error; without it every error is one ``Error: ...`` line.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _pop_debug(args) or env_flag(DEBUG_ENV)
    mask_logs()  # e-mails and phone numbers never reach a log line (insightloop/logmask.py)
    _load_commands()
    previous: Any = warnings.showwarning
    warnings.showwarning = _show_warning
    # Built once (about 0.2 s for the whole command tree): parsing and the audit log share it.
    group = typer.main.get_command(app_module.app)
    try:
        status = _run(group, list(args), debug, "--json" in _options_part(args))
    finally:
        warnings.showwarning = previous
    # commands that change or export data land in the audit log (cli/trail.py)
    record_run(group, args, status)
    return status


def _options_part(args: list[str]) -> list[str]:
    return args[:args.index("--")] if "--" in args else args


def _pop_debug(args: list[str]) -> bool:
    end = args.index("--") if "--" in args else len(args)
    found = "--debug" in args[:end]
    args[:end] = [a for a in args[:end] if a != "--debug"]
    return found


def normalise_args(group: Any, args: list[str]) -> list[str]:
    """Global options written before the command moved after it; deprecated option
    spellings replaced by the current ones (with a warning on stderr)."""
    end = len(_options_part(args))
    head: list[str] = []
    moved: list[str] = []
    path: list[str] = []
    cmd, i = group, 0
    while i < end:
        tok = args[i]
        if tok in _GLOBAL_FLAGS or tok.startswith("--warehouse="):
            moved.append(tok)
        elif tok in _GLOBAL_VALUED and i + 1 < end:
            moved += [tok, args[i + 1]]
            i += 1
        elif tok.startswith("-"):
            head.append(tok)
        else:
            sub = (getattr(cmd, "commands", None) or {}).get(tok)
            if sub is None:
                break
            head.append(tok)
            path.append(tok)
            cmd = sub
            if not hasattr(sub, "commands"):
                i += 1
                break
        i += 1
    if not path:  # no command found: leave the arguments to click (help, usage errors)
        return args
    tail = args[i:end]
    renames = DEPRECATED.get(tuple(path), {})
    for k, tok in enumerate(tail):
        name, eq, value = tok.partition("=")
        if name in renames:
            err_console.print(f"[yellow]warning[/]: {name} is deprecated; use "
                              f"{renames[name]}", highlight=False)
            tail[k] = renames[name] + eq + value
    return head + tail + moved + args[end:]


def _run(group: Any, argv: list[str], debug: bool, json_mode: bool) -> int:
    try:
        argv = normalise_args(group, argv)
        if json_mode:
            # Not standalone: usage errors come back here and are printed as JSON.
            status = group.main(args=argv, prog_name="insightloop", standalone_mode=False)
            if status == EXIT_INTERRUPTED:
                print_json_error("interrupted", _INTERRUPTED)
                return EXIT_INTERRUPTED
            return status if isinstance(status, int) else EXIT_OK
        # Standalone mode: click prints usage errors itself and exits 2 via SystemExit;
        # typer turns Ctrl-C into exit 130.
        group.main(args=argv, prog_name="insightloop")
    except SystemExit as exc:
        code = exc.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
        if status == EXIT_INTERRUPTED and _caused_by(exc, KeyboardInterrupt):
            _interrupted()
        return status
    except KeyboardInterrupt:
        if json_mode:
            print_json_error("interrupted", _INTERRUPTED)
        else:
            _interrupted()
        return EXIT_INTERRUPTED
    except typer.Abort:  # only when not standalone (--json): a prompt got EOF or Ctrl-C
        print_json_error("interrupted", _INTERRUPTED)
        return EXIT_INTERRUPTED
    except Exception as exc:  # every error ends here as one line (--debug: traceback too)
        if _query_interrupted(exc):  # Ctrl-C arrived while DuckDB was running a query
            if json_mode:
                print_json_error("interrupted", _INTERRUPTED)
            else:
                _interrupted()
            return EXIT_INTERRUPTED
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        usage = getattr(exc, "exit_code", None) if hasattr(exc, "format_message") else None
        if json_mode and usage is not None:  # a click usage error (not standalone)
            print_json_error("usage_error", exc.format_message())  # type: ignore[attr-defined]
            return int(usage)
        if json_mode:
            print_json_error(error_code(exc), describe_error(exc))
        else:
            err_console.print(f"[bold red]Error[/]: {escape(describe_error(exc))}",
                              highlight=False, soft_wrap=True, markup=True)
        return exit_code(exc)
    return EXIT_OK


_INTERRUPTED = "interrupted (Ctrl-C): an unfinished write to the warehouse was rolled back"


def _interrupted() -> None:
    err_console.print(_INTERRUPTED, highlight=False, soft_wrap=True)


def _query_interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is DuckDB giving up a query on SIGINT: it raises its own
    ``InterruptException`` or a ``RuntimeError('Query interrupted')``, not KeyboardInterrupt."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, KeyboardInterrupt) or type(seen).__name__ == "InterruptException" \
                or (isinstance(seen, RuntimeError) and str(seen).startswith("Query interrupted")):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


if __name__ == "__main__":
    sys.exit(main())
