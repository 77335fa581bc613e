"""Server processes started and watched from asyncio: the NEXUS tool server and the bare floor server."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


class ServerProcess:
    """A child process that prints ``serving <url>`` when it listens, then one event per line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.base_url = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    async def next_line(self) -> str:
        """The next line the process prints; raises ``EOFError`` when it has exited."""
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise EOFError(f"The server process {self.pid} exited with {await self.process.wait()}.")
        return line.decode().strip()

    async def wait_for(self, prefix: str) -> str:
        """Read lines until one starts with ``prefix``; returns the rest of it."""
        while True:
            line = await self.next_line()
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def rss_bytes(self) -> int:
        """Resident memory of the process now (Linux)."""
        return rss_bytes(self.pid)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (a crash)."""
        if self.process.returncode is None:
            self.process.kill()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def _serving_line(line: str) -> str | None:
    return line.removeprefix("serving ").strip() if line.startswith("serving ") else None


def _nexus_ready_line(line: str) -> str | None:
    """The tool server's URL from what ``nexus run`` / ``nexus serve`` print once they listen."""
    found = re.search(r"tool server on (http://[^\s,]+)", line)
    return found.group(1) if found else None


@asynccontextmanager
async def server_process(
    module: str,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    ready: Callable[[str], str | None] = _serving_line,
) -> AsyncIterator[ServerProcess]:
    """Run ``python -m module args`` from the project root; yields once it prints the line ``ready`` reads
    its base URL from (``serving <url>`` by default)."""
    child_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    child_env.update(env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=PROJECT_ROOT,
        env=child_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=None,
    )
    server = ServerProcess(process)
    try:
        async with asyncio.timeout(START_TIMEOUT_SECONDS):
            while not server.base_url:
                server.base_url = ready(await server.next_line()) or ""
        yield server
    finally:
        await server.stop()


def nexus_server(
    database_url: str,
    secret: str,
    redis_url: str | None = None,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> AbstractAsyncContextManager[ServerProcess]:
    """A NEXUS tool server on ``database_url`` (and Redis, when given) with tool secret ``secret``."""
    env = {"DATABASE_URL": database_url, "TOOLS_SHARED_SECRET": secret, "NEXUS_MODE": "mock_ai"}
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra_env or {})
    return server_process("benchmarks.serve", extra_args, env)


def nexus_command(
    command: str, env: Mapping[str, str], args: Sequence[str] = ()
) -> AbstractAsyncContextManager[ServerProcess]:
    """``nexus <command> --port 0 args`` (``run`` or ``serve``) with settings from ``env`` only."""
    return server_process("nexus.cli", [command, "--port", "0", *args], env, ready=_nexus_ready_line)


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid`` from ``/proc`` (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"No VmRSS for process {pid}.")


def peak_rss_bytes(pid: int) -> int:
    """The highest resident set size process ``pid`` has had (Linux ``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"No VmHWM for process {pid}.")
