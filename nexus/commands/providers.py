"""``nexus providers opt-out list|add|remove PHONE``: the practices NEXUS never calls (for the operator).

A practice that says in a call that it does not want automated calls is added by itself; the operator adds
one that asked another way (a letter, an email) and removes one that wants calls again. The list shows the
numbers in full: it is for the operator, not for a log.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from nexus.settings import Settings

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("providers", help="what NEXUS knows about providers' phone lines")
    what = parser.add_subparsers(dest="providers_command", metavar="WHAT", required=True)
    opt_out = what.add_parser("opt-out", help="practices that do not want automated calls")
    actions = opt_out.add_subparsers(dest="opt_out_command", metavar="ACTION", required=True)
    actions.add_parser("list", help="every practice that opted out").set_defaults(handler=handle_list)
    for name, handler, text in (
        ("add", handle_add, "never call this number again"),
        ("remove", handle_remove, "let NEXUS call this number again"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("phone", metavar="PHONE", help="in international form, like +49 30 1234567")
        action.set_defaults(handler=handler)


def handle_list(args: argparse.Namespace) -> int:
    from domain.services.citizenship import list_opt_outs

    opt_outs = _with_database(list_opt_outs)
    if not opt_outs:
        print("No practice has opted out.")
        return 0
    for opt_out in opt_outs:
        print(f"{opt_out.phone}  since {opt_out.created_at:%Y-%m-%d %H:%M} UTC  ({opt_out.source})")
    return 0


def handle_add(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from domain.services.citizenship import add_opt_out

    number, new = _with_database(lambda uow: add_opt_out(uow, args.phone, datetime.now(UTC)))
    print(f"{number} is never called again." if new else f"{number} had opted out already.")
    return 0


def handle_remove(args: argparse.Namespace) -> int:
    from domain.services.citizenship import remove_opt_out

    number, removed = _with_database(lambda uow: remove_opt_out(uow, args.phone))
    print(f"{number} may be called again." if removed else f"{number} was not on the list.")
    return 0


def _with_database(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(uow_factory)`` on ``DATABASE_URL`` once the schema is checked to be current."""
    from domain.errors import InvalidRequest

    try:
        return asyncio.run(_run(Settings().database_url, work))
    except InvalidRequest as exc:
        raise SystemExit(f"nexus providers: {exc}") from None


async def _run(database_url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    from nexus.failures import database_unreachable, is_database_error, sqlite_cannot_open
    from storage.engine import create_engine
    from storage.schema import check_current
    from storage.uow import make_uow_factory

    if failure := sqlite_cannot_open(database_url):
        raise failure
    engine = create_engine(database_url)
    try:
        await check_current(engine)
        return await work(make_uow_factory(engine))
    except Exception as exc:
        if is_database_error(exc):
            raise database_unreachable(database_url, exc) from exc
        raise
    finally:
        await engine.dispose()
