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

from insightloop.cli import app as app_module
from insightloop.cli.common import err_console
from insightloop.errors import InsightloopError

_NOT_COMMANDS = {"app", "common", "main"}


def _load_commands() -> None:
    import insightloop.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name not in _NOT_COMMANDS:
            importlib.import_module(f"insightloop.cli.{info.name}")


def main(argv: list[str] | None = None) -> int:
    _load_commands()
    try:
        app_module.app(args=argv, standalone_mode=False)
    except InsightloopError as exc:
        err_console.print(f"[bold red]{type(exc).__name__}[/]: {exc}", highlight=False,
                          soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted: nothing was changed by the unfinished command")
        return 130
    except SystemExit as exc:
        return int(exc.code or 0)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Exit):
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            return 130
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
