"""Running ``nexus`` as a person does: a separate process, in a folder of its own, with only the given settings."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

COMMAND_TIMEOUT_SECONDS = 60

# Settings a developer's shell may carry; a test passes the ones it means explicitly.
_NEXUS_VARIABLES = (
    "NEXUS_",
    "DATABASE_",
    "REDIS_URL",
    "LOG_",
    "TELEGRAM_",
    "ELEVENLABS_",
    "TWILIO_",
    "GOOGLE_",
    "OPENAI_",
    "TOOLS_SHARED_SECRET",
    "PUBLIC_BASE_URL",
    "TARGET_PHONE_NUMBER",
    "ENCRYPTION_KEY",
)


def clean_environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_NEXUS_VARIABLES)}
    env.update(settings)
    return env


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def nexus(*args: str, cwd: Path, **settings: str) -> Done:
    done = subprocess.run(
        [sys.executable, "-m", "nexus.cli", *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
        cwd=cwd,
        env=clean_environment(**settings),
    )
    return Done(done.returncode, done.stdout, done.stderr)


async def nexus_async(*args: str, cwd: Path, **settings: str) -> Done:
    """The same, while this event loop keeps serving (a fake server the command talks to)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nexus.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=clean_environment(**settings),
    )
    async with asyncio.timeout(COMMAND_TIMEOUT_SECONDS):
        stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return Done(process.returncode, stdout.decode(), stderr.decode())


def closed_port() -> int:
    """A port nothing listens on (bound and released; nothing else on this machine grabs it in between)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
