"""Console entry point ``insightloop``.

Every module of this package other than ``app``, ``common`` and ``main``
registers its commands on the Typer apps in :mod:`insightloop.cli.app` when
imported; this module imports them all, then runs the app. Every error prints
as one line ``Error: what happened; what to do`` and exits 1 (usage errors exit 2,
Ctrl-C 130); ``--debug`` or ``INSIGHTLOOP_DEBUG=1`` adds the traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
import warnings
from typing import Any, TextIO

import insightloop.cli as pkg
from insightloop.cli import app as app_module
from insightloop.cli.common import DEBUG_ENV, describe_error, env_flag, err_console

_NOT_COMMANDS = {"app", "common", "main"}


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
    """Run the CLI; returns the exit code (0 ok, 1 error, 2 usage error, 130 Ctrl-C).

    ``--debug`` (anywhere before a ``--``) or ``INSIGHTLOOP_DEBUG=1`` also prints the
    traceback of an error; without it every error is one ``Error: ...`` line.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _pop_debug(args) or env_flag(DEBUG_ENV)
    _load_commands()
    previous: Any = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return _run(args, debug)
    finally:
        warnings.showwarning = previous


def _pop_debug(args: list[str]) -> bool:
    end = args.index("--") if "--" in args else len(args)
    found = "--debug" in args[:end]
    args[:end] = [a for a in args[:end] if a != "--debug"]
    return found


def _run(argv: list[str], debug: bool) -> int:
    try:
        # Standalone mode: click prints usage errors itself and exits 2 via SystemExit;
        # typer turns Ctrl-C into exit 130.
        app_module.app(args=argv, prog_name="insightloop")
    except SystemExit as exc:
        code = exc.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
        if status == 130 and _caused_by(exc, KeyboardInterrupt):
            _interrupted()
        return status
    except KeyboardInterrupt:
        _interrupted()
        return 130
    except Exception as exc:  # every error ends here as one line (--debug: traceback too)
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        err_console.print(f"[bold red]Error[/]: {describe_error(exc)}", highlight=False,
                          soft_wrap=True, markup=True)
        return 1
    return 0


def _interrupted() -> None:
    err_console.print("interrupted (Ctrl-C): an unfinished write to the warehouse was rolled "
                      "back", highlight=False, soft_wrap=True)


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
