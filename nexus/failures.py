"""Expected ways for a command to fail, each turned into one sentence that names the fix.

A command raises ``StartupFailure`` (or lets a ``SchemaMismatch`` through); ``nexus.cli`` prints its sentence
and exits 1, with the traceback only under ``--verbose``. The helpers here build the sentences from the
low-level errors of the database driver, Redis, Telegram and the operating system.
"""

from __future__ import annotations

import errno
import os
import socket
import sqlite3
from pathlib import Path


class StartupFailure(Exception):
    """A command cannot do its work for a reason the person running it can fix; ``str()`` says how."""


def _reason(exc: BaseException) -> str:
    """The innermost cause in a few words, never a whole driver message with a traceback."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, ConnectionRefusedError) or "connection refused" in text.lower():
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return text[:160] or type(exc).__name__


def shown_url(url: str) -> str:
    """A database or Redis URL fit to print: the password is hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


def sqlite_cannot_open(url: str) -> StartupFailure | None:
    """For a SQLite file that does not exist yet in a folder this user cannot write to: the sentence, before
    the driver tries (and, failing, leaves a worker thread that complains after the event loop has closed)."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    file = Path(path)
    folder = file.resolve().parent
    if file.exists() or (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
        return None
    return _sqlite_folder(path, folder)


def _sqlite_folder(path: str, folder: Path) -> StartupFailure:
    return StartupFailure(
        f"Cannot open the SQLite database {path}: its folder {folder} is missing or not writable by this user. "
        "Point DATABASE_URL at a writable place, e.g. sqlite+aiosqlite:////data/nexus.db."
    )


def database_unreachable(url: str, exc: BaseException) -> StartupFailure:
    """The sentence for a database that cannot be opened or reached."""
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        path = make_url(url).database or ""
        if isinstance(exc.__cause__ or exc, sqlite3.OperationalError) or "unable to open" in str(exc):
            return _sqlite_folder(path or "(in memory)", Path(path).resolve().parent if path else Path.cwd())
    return StartupFailure(
        f"Cannot reach the database at {shown_url(url)} ({_reason(exc)}). Check DATABASE_URL and that the server "
        "is running and accepts this user."
    )


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached or opened (as opposed to a bug in a query)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if isinstance(exc, OperationalError | InterfaceError | OSError | sqlite3.OperationalError):
        return True
    module = type(exc).__module__
    # asyncpg refuses logins and unknown databases with its own errors (wrong password, no such database).
    return module.startswith("asyncpg") and type(exc).__name__ in {
        "InvalidPasswordError",
        "InvalidAuthorizationSpecificationError",
        "InvalidCatalogNameError",
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
    }


def redis_unreachable(url: str, exc: BaseException) -> StartupFailure:
    return StartupFailure(
        f"Cannot reach Redis at {shown_url(url)} ({_reason(exc)}). Check REDIS_URL and that Redis is running, "
        "or leave REDIS_URL empty to keep holds in this process (one process only)."
    )


def port_taken(host: str, port: int, exc: OSError) -> StartupFailure:
    if exc.errno == errno.EADDRINUSE:
        return StartupFailure(
            f"Port {port} on {host} is already taken by another program. Stop that program, or choose another "
            "port with --port or NEXUS_PORT."
        )
    if exc.errno == errno.EACCES:
        return StartupFailure(
            f"This user may not listen on port {port} on {host}. Choose a port above 1023 with --port or "
            "NEXUS_PORT, and let a reverse proxy take 443."
        )
    return StartupFailure(f"Cannot listen on {host}:{port} ({_reason(exc)}). Check NEXUS_HOST and NEXUS_PORT.")


def telegram_failed(exc: BaseException, base_url: str | None) -> StartupFailure | None:
    """The sentence for a Telegram Bot API that refuses the token or cannot be reached; None for other errors."""
    from telegram.error import InvalidToken, NetworkError, TimedOut

    where = base_url or "api.telegram.org"
    if isinstance(exc, InvalidToken):
        return StartupFailure(
            "Telegram refused TELEGRAM_BOT_TOKEN. Copy the bot's token from @BotFather (/mybots, API Token) "
            "into TELEGRAM_BOT_TOKEN."
        )
    if isinstance(exc, TimedOut | NetworkError):
        return StartupFailure(
            f"Cannot reach Telegram at {where} ({_reason(exc)}). Check this machine's network"
            + (" and TELEGRAM_BASE_URL." if base_url else ".")
        )
    return None
