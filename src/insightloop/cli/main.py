"""Console entry point ``insightloop``.

Every module of this package other than ``app``, ``common`` and ``main``
registers its commands on the Typer apps in :mod:`insightloop.cli.app` when
imported; this module imports them all, then runs the app. Errors raised on
purpose (:class:`~insightloop.errors.InsightloopError`) print as
``Type: message`` and exit 1.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import warnings
from typing import Any, TextIO

from insightloop.cli import app as app_module
from insightloop.cli.common import err_console
from insightloop.errors import InsightloopError

_NOT_COMMANDS = {"app", "common", "main"}


def _load_commands() -> None:
    import insightloop.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name not in _NOT_COMMANDS:
            importlib.import_module(f"insightloop.cli.{info.name}")


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    """Warnings from the library (drift, unseen categories, ...) as one readable line."""
    err_console.print(f"[yellow]{category.__name__}[/]: {message}", highlight=False,
                      soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 insightloop error, 2 usage error)."""
    _load_commands()
    previous: Any = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return _run(argv)
    finally:
        warnings.showwarning = previous


def _run(argv: list[str] | None) -> int:
    try:
        # Standalone mode: the app prints usage errors itself and exits via SystemExit.
        app_module.app(args=argv, prog_name="insightloop")
    except InsightloopError as exc:
        err_console.print(f"[bold red]{type(exc).__name__}[/]: {exc}", highlight=False,
                          soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted: nothing was changed by the unfinished command")
        return 130
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
