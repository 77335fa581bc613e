"""The image's entry commands as the image runs them, without Docker: as an unprivileged user, with the
Dockerfile's own ENV, USER and WORKDIR, in a copy of its file system where only the data volume is writable.

The paths of the image are moved under a folder of this test (``/data`` -> ``<root>/data``, ``/app`` ->
``<root>/app``, owned by root and read-only for the user); the commands are the Dockerfile's ``CMD``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.deploy.files import Image, read_dockerfile
from tests.e2e.cli.support import clean_environment, closed_port
from tests.support.fake_bot_api import TOKEN, FakeBotApi

NOBODY = 65534
BIN = Path(sys.executable).parent


@dataclass
class Container:
    """A stand-in for a container of the image: its file system root here, and how to run a command in it."""

    root: Path
    image: Image

    def path(self, image_path: str) -> Path:
        return self.root / image_path.lstrip("/")

    def environment(self, **extra: str) -> dict[str, str]:
        env = {k: v.replace("/data", str(self.path("/data"))) for k, v in self.image.env.items()}
        env["PATH"] = f"{BIN}:/usr/bin:/bin"
        return clean_environment(**{**env, **extra})

    def argv(self, command: list[str]) -> list[str]:
        """``command`` as the image's user: dropped to ``nobody`` when the tests run as root.

        ``nobody`` keeps one capability, reading and traversing any file (the interpreter may live in root's
        home), and gains no right to write: like the image's user on a read-only root with one volume.
        """
        if os.geteuid() != 0:
            return command
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to run the image's commands as a user without rights"
        read_any = "+dac_read_search"
        return [
            setpriv,
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            f"--inh-caps={read_any}",
            f"--ambient-caps={read_any}",
            "--",
            *command,
        ]

    @property
    def workdir(self) -> Path:
        return self.path(self.image.workdir)


@pytest.fixture
def container() -> Iterator[Container]:
    image = read_dockerfile()
    # Not under pytest's tmp_path, which only root may enter.
    root = Path(tempfile.mkdtemp(prefix="nexus-image-"))
    try:
        root.chmod(0o755)
        app = root / "app"
        app.mkdir(mode=0o755)
        (app / "pyproject.toml").write_text("# the installed source, read-only for the user\n", encoding="utf-8")
        for volume in image.volumes:
            data = root / volume.lstrip("/")
            data.mkdir(parents=True)
            if os.geteuid() == 0:
                os.chown(data, NOBODY, NOBODY)
        yield Container(root, image)
    finally:
        shutil.rmtree(root)


def test_the_image_runs_as_a_user_and_writes_only_to_its_volume() -> None:
    image = read_dockerfile()
    assert image.user not in ("", "root", "0")
    assert image.workdir in image.volumes
    assert image.env["HOME"] in image.volumes
    database = image.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    assert any(database.startswith(volume + "/") for volume in image.volumes)


async def run(container: Container, *command: str, **extra: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *container.argv(list(command)),
        cwd=container.workdir,
        env=container.environment(**extra),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_db_upgrade_creates_the_sqlite_database_in_the_volume(container: Container) -> None:
    code, out, err = await run(container, "nexus", "db", "upgrade")
    assert (code, err) == (0, ""), err
    assert out.startswith("Database created and up to date")
    assert container.path("/data/nexus.db").is_file()
    assert sorted(p.name for p in container.path("/app").iterdir()) == ["pyproject.toml"]


async def test_the_default_sqlite_path_works_in_the_image_workdir(container: Container) -> None:
    code, _, err = await run(container, "nexus", "db", "upgrade", DATABASE_URL="sqlite+aiosqlite:///nexus.db")
    assert code == 0, err
    assert (container.workdir / "nexus.db").is_file()


async def test_a_read_only_folder_gets_a_sentence_not_a_traceback(container: Container) -> None:
    """What the image did before it had a volume: a relative SQLite path in the root-owned /app."""
    process = await asyncio.create_subprocess_exec(
        *container.argv(["nexus", "db", "upgrade"]),
        cwd=container.path("/app"),
        env=container.environment(DATABASE_URL="sqlite+aiosqlite:///nexus.db"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    if os.geteuid() != 0 and os.access(container.path("/app"), os.W_OK):
        pytest.fail("the test user can write to the simulated /app; the simulation does not hold")
    assert process.returncode == 1
    assert err.decode().count("\n") == 1
    expected = f"nexus db: Cannot open the SQLite database nexus.db: its folder {container.root}/app is missing"
    assert err.decode().startswith(expected)


async def test_the_image_command_migrates_then_runs_the_bot_until_stopped(container: Container) -> None:
    api = FakeBotApi()
    port = closed_port()
    async with TestServer(api.app, host="127.0.0.1") as bot_api:
        shell = container.image.cmd
        process = await asyncio.create_subprocess_exec(
            *container.argv(shell),
            cwd=container.workdir,
            env=container.environment(
                TELEGRAM_BOT_TOKEN=TOKEN,
                TELEGRAM_BASE_URL=str(bot_api.make_url("/bot")),
                NEXUS_PORT=str(port),
                NEXUS_HOST="127.0.0.1",
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        try:
            async with asyncio.timeout(60):
                assert (await process.stdout.readline()).startswith(b"Database created and up to date")
                assert (await process.stdout.readline()).startswith(b"NEXUS is running: tool server on http://")
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/ready") as response:
                assert response.status == 200
            # Docker's health check, as the image's user, in the same environment.
            assert container.image.healthcheck[0] == "python"
            check = await asyncio.create_subprocess_exec(
                *container.argv([sys.executable, *container.image.healthcheck[1:]]),
                cwd=container.workdir,
                env=container.environment(NEXUS_PORT=str(port)),
            )
            assert await check.wait() == 0
        finally:
            process.send_signal(signal.SIGTERM)  # `exec` in the command: the signal reaches nexus itself
            async with asyncio.timeout(30):
                _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert " WARNING " not in err.decode() and " ERROR " not in err.decode() and "Traceback" not in err.decode()
    assert container.path("/data/nexus.db").is_file()
