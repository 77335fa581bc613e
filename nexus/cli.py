"""The ``nexus`` command line. Each sub-command lives in its own module under ``nexus.commands``.

A command module defines ``register(subparsers)``, which adds its parser and sets ``handler`` to a function
``(args) -> int``. Commands are found by listing the package, so adding one touches no shared file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence

from pydantic import ValidationError

from nexus import commands
from nexus.logs import Redactor, configure_logging
from nexus.settings import SettingsError, settings_problem


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nexus", description="NEXUS books appointments by phoning providers for you.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(subparsers)
    _add_verbose(parser)
    return parser


def _add_verbose(parser: argparse.ArgumentParser, top: bool = True) -> None:
    """``--verbose`` before or after the command: Alembic's and other libraries' lines, tracebacks on failure."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="show more log lines, and the traceback when a command fails",
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_verbose(child, top=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose: bool = args.verbose
    configure_logging("WARNING", os.environ.get("LOG_FORMAT", "text"), verbose=verbose)
    try:
        result: int = args.handler(args)
    except SettingsError as exc:
        print(f"nexus: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"nexus: {settings_problem(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return _failed(args.command, exc, verbose)
    return result


def _failed(command: str, exc: Exception, verbose: bool) -> int:
    """One sentence naming the fix for an expected failure; the traceback only with ``--verbose``."""
    from nexus.failures import StartupFailure
    from storage.schema import SchemaMismatch

    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, StartupFailure | SchemaMismatch):
        print(f"nexus {command}: {exc}", file=sys.stderr)
    else:
        print(
            f"nexus {command} stopped on an unexpected error ({type(exc).__name__}: {Redactor()(_first_line(exc))})"
            + ("." if verbose else "; run it again with --verbose to see where."),
            file=sys.stderr,
        )
    return 1


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else "no message"


if __name__ == "__main__":
    raise SystemExit(main())
