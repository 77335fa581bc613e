"""Expected failures of every command end in one sentence naming the fix and exit code 1; ``--verbose`` adds
the traceback. Each is run as a separate process, as a person would meet it."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.e2e.cli.support import closed_port, nexus, nexus_async

TOKEN = "123456789:" + "A" * 35


def one_line(text: str) -> str:
    assert "Traceback" not in text
    assert text.count("\n") == 1, text
    return text.strip()


def test_serve_on_a_fresh_database_says_to_run_db_upgrade(tmp_path: Path) -> None:
    done = nexus("serve", "--port", "0", cwd=tmp_path)
    assert done.returncode == 1
    assert one_line(done.stderr).startswith("nexus serve: The database is behind the code")
    assert "run `nexus db upgrade`" in done.stderr


def test_verbose_shows_the_traceback_as_well(tmp_path: Path) -> None:
    done = nexus("serve", "--port", "0", "--verbose", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "DatabaseBehind" in done.stderr
    assert done.stderr.rstrip().splitlines()[-1].startswith("nexus serve: The database is behind the code")


def test_db_upgrade_is_quiet_and_says_where_the_database_stands(tmp_path: Path) -> None:
    first = nexus("db", "upgrade", cwd=tmp_path)
    again = nexus("db", "upgrade", cwd=tmp_path)
    assert (first.returncode, again.returncode) == (0, 0)
    assert first.stderr == again.stderr == ""  # no Alembic chatter
    assert first.stdout.startswith("Database created and up to date")
    assert again.stdout.startswith("Database is already up to date")
    verbose = nexus("db", "upgrade", "-v", cwd=tmp_path)
    assert verbose.returncode == 0
    assert "alembic" in verbose.stderr  # verbose lets Alembic speak


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://nexus:hunter2secret@127.0.0.1:{closed_port()}/nexus"
    for command in (["db", "upgrade"], ["serve", "--port", "0"]):
        done = nexus(*command, cwd=tmp_path, DATABASE_URL=url)
        assert done.returncode == 1, done.stderr
        line = one_line(done.stderr)
        assert "Cannot reach the database at postgresql+asyncpg://nexus:***@127.0.0.1:" in line
        assert "(connection refused)" in line
        assert "hunter2secret" not in line
        assert "Check DATABASE_URL" in line


def test_a_sqlite_file_in_a_folder_that_cannot_exist_is_said_plainly(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    done = nexus("db", "upgrade", cwd=tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{blocker}/nexus.db")
    assert done.returncode == 1
    assert one_line(done.stderr).startswith(f"nexus db: Cannot open the SQLite database {blocker}/nexus.db")
    assert "Point DATABASE_URL at a writable place" in done.stderr


def test_an_unreachable_redis_stops_serve(tmp_path: Path) -> None:
    assert nexus("db", "upgrade", cwd=tmp_path).returncode == 0
    done = nexus("serve", "--port", "0", cwd=tmp_path, REDIS_URL=f"redis://:redispass99@127.0.0.1:{closed_port()}/0")
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith("nexus serve: Cannot reach Redis at redis://:***@127.0.0.1:")
    assert "Check REDIS_URL" in line
    assert "redispass99" not in line


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    assert nexus("db", "upgrade", cwd=tmp_path).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = nexus("serve", "--host", "127.0.0.1", "--port", str(port), cwd=tmp_path)
    assert done.returncode == 1
    assert one_line(done.stderr) == (
        f"nexus serve: Port {port} on 127.0.0.1 is already taken by another program. Stop that program, "
        "or choose another port with --port or NEXUS_PORT."
    )


def test_live_mode_lists_every_missing_variable_at_once(tmp_path: Path) -> None:
    done = nexus("serve", cwd=tmp_path, NEXUS_MODE="live")
    assert done.returncode == 2
    line = one_line(done.stderr)
    for name in ("TOOLS_SHARED_SECRET", "PUBLIC_BASE_URL", "ELEVENLABS_WEBHOOK_SECRET", "GOOGLE_MAPS_API_KEY"):
        assert name in line


async def test_telegram_unreachable_is_one_sentence(tmp_path: Path) -> None:
    assert (await nexus_async("db", "upgrade", cwd=tmp_path)).returncode == 0
    done = await nexus_async(
        "run",
        "--port",
        "0",
        cwd=tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=f"http://127.0.0.1:{closed_port()}/bot",
    )
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith("nexus run: Cannot reach Telegram at http://127.0.0.1:")
    assert "TELEGRAM_BASE_URL" in line
    assert TOKEN not in done.stderr + done.stdout


@pytest.fixture
async def refusing_bot_api() -> AsyncIterator[str]:
    """A Bot API that refuses every token, as Telegram does for a revoked one."""

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("/bot"))


async def test_a_refused_token_says_where_to_get_a_new_one(tmp_path: Path, refusing_bot_api: str) -> None:
    assert (await nexus_async("db", "upgrade", cwd=tmp_path)).returncode == 0
    done = await nexus_async(
        "run", "--port", "0", cwd=tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=refusing_bot_api
    )
    assert done.returncode == 1
    assert one_line(done.stderr).startswith("nexus run: Telegram refused TELEGRAM_BOT_TOKEN. Copy the bot's token")
    assert TOKEN not in done.stderr + done.stdout


def test_log_format_json_makes_every_log_line_a_json_object(tmp_path: Path) -> None:
    done = nexus("db", "upgrade", "--verbose", cwd=tmp_path, LOG_FORMAT="json")
    assert done.returncode == 0
    events = [json.loads(line) for line in done.stderr.splitlines()]
    assert events
    assert {e["logger"].split(".")[0] for e in events} == {"alembic"}
    assert all(e["level"] == "INFO" and e["message"] for e in events)
