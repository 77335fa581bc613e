"""Simulated calls in processes of their own, so the load does not take the server's CPU.

The server side (``AgentProcesses``) is the voice gateway of the NEXUS under test: each placed call goes,
pickled, to one of K worker processes (``python -m benchmarks.agents``), which run the simulated
receptionist and the reference agent there; the agent calls the tool endpoints over HTTP as a live agent
would. What a live call reports through the post-call webhook (a transcript; a call nobody answered or
that broke down) comes back over the worker's stdout and is handed to the use cases in the server.
Workers run at a lower priority (``nice``) than the server.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import pickle
import sys
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchmarks.processes import PROJECT_ROOT, peak_rss_bytes, rss_bytes
from domain.models import CallStatus, CallTask, Turn
from domain.ports import CallRequest, PlacedCall
from domain.services.campaigns import end_call_task, record_transcript
from domain.services.context import Ports
from integrations.simulation.gateway import SimulatedVoiceGateway

log = logging.getLogger(__name__)
WORKER_NICENESS = 0


def _encode(value: object) -> str:
    return base64.b64encode(pickle.dumps(value)).decode()


def _decode(text: str) -> Any:
    # Only ever lines our own child processes wrote.
    return pickle.loads(base64.b64decode(text))  # noqa: S301


# --- the worker ----------------------------------------------------------------------------------


class _ForwardingGateway(SimulatedVoiceGateway):
    """Runs the calls here and reports what the post-call webhook would over stdout."""

    def __init__(self, secret: str, max_concurrent_calls: int, time_scale: float) -> None:
        # The slots are taken here, so the time a call holds one can be measured.
        super().__init__(time_scale=time_scale)
        self._secret = secret
        self._slots = asyncio.Semaphore(max_concurrent_calls)

    async def _converse(self, request: CallRequest, conversation_id: str) -> None:
        held = 0.0
        try:
            async with self._slots:
                began = time.monotonic()
                try:
                    await super()._converse(request, conversation_id)
                finally:
                    held = time.monotonic() - began
        finally:
            # Reported already: what the simulation keeps of a call for tests to read is dropped here.
            for kept in (self.transcripts, self.call_seconds, self.transfers):
                kept.pop(request.call.id, None)
            _say("done", f"{request.call.id} {held:.4f}")

    def _connected(self) -> bool:
        return self._tools_url is not None

    def _now(self) -> datetime:
        return datetime.now(UTC)

    async def _report_end(self, call_id: str, status: CallStatus, reason: str) -> None:
        _say("end", _encode((call_id, status, reason)))

    async def _report_transcript(self, call_id: str, turns: list[Turn]) -> None:
        _say("transcript", _encode((call_id, turns)))

    async def _report_turns(self, call_id: str, turns: list[Turn]) -> None:
        # Nobody listens to a benchmark's calls: the whole transcript is handed over once, at the end.
        pass


def _say(kind: str, payload: str) -> None:
    sys.stdout.write(f"{kind} {payload}\n")
    sys.stdout.flush()


async def _work(args: argparse.Namespace) -> None:
    gateway = _ForwardingGateway(args.secret, args.max_concurrent_calls, args.time_scale)
    gateway.set_tools_url(args.tools_url)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    _say("ready", str(os.getpid()))
    while line := await reader.readline():
        kind, _, payload = line.decode().strip().partition(" ")
        if kind == "call":
            await gateway.place_call(_decode(payload))
        elif kind == "hangup":
            await gateway.hang_up(_CallId(payload))
        elif kind == "rss":
            _say("rss", f"{rss_bytes(os.getpid())} {peak_rss_bytes(os.getpid())}")
    await gateway.aclose()


@dataclass(frozen=True)
class _CallId:
    id: str


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.agents")
    parser.add_argument("--tools-url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--time-scale", type=float, default=0.0)
    parser.add_argument("--max-concurrent-calls", type=int, default=1000)
    args = parser.parse_args()
    os.nice(WORKER_NICENESS)
    asyncio.run(_work(args))
    return 0


# --- the server side -----------------------------------------------------------------------------


@dataclass
class _Worker:
    process: asyncio.subprocess.Process
    reader: asyncio.Task[None] | None = None
    rss: asyncio.Future[tuple[int, int]] | None = None


@dataclass
class AgentProcesses:
    """The voice gateway of a NEXUS under load: calls run in ``workers`` child processes."""

    workers: int = 2
    time_scale: float = 0.0
    max_concurrent_calls: int = 1000
    _ports: Ports | None = None
    _children: list[_Worker] = field(default_factory=list)
    _open: dict[str, int] = field(default_factory=dict)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    # The report being handled last for each call (``_report``).
    _reports: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _next: int = 0
    peak_open: int = 0
    # Seconds each finished call held its slot (from taking it to hanging up).
    held: list[float] = field(default_factory=list)

    async def start(self, ports: Ports, tools_url: str, secret: str) -> None:
        self._ports = ports
        per_worker = max(1, self.max_concurrent_calls // self.workers)
        for _ in range(self.workers):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.agents",
                "--tools-url",
                tools_url,
                "--secret",
                secret,
                "--time-scale",
                str(self.time_scale),
                "--max-concurrent-calls",
                str(per_worker),
                cwd=PROJECT_ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=2**24,
            )
            worker = _Worker(process)
            assert process.stdout is not None
            ready = await process.stdout.readline()
            if not ready.startswith(b"ready"):
                raise RuntimeError(f"An agent process did not start: {ready!r}")
            worker.reader = asyncio.create_task(self._read(worker))
            self._children.append(worker)
        self._idle.set()

    async def place_call(self, request: CallRequest) -> PlacedCall:
        if not self._children:
            raise RuntimeError("The agent processes have not been started.")
        index = self._next % len(self._children)
        self._next += 1
        self._open[request.call.id] = index
        self.peak_open = max(self.peak_open, len(self._open))
        self._idle.clear()
        await self._send(index, f"call {_encode(request)}")
        return PlacedCall(conversation_id=f"sim_{request.call.id[:12]}", call_sid=f"SIM{request.call.id[:16]}")

    async def hang_up(self, call: CallTask) -> None:
        index = self._open.get(call.id)
        if index is not None:
            await self._send(index, f"hangup {call.id}")

    def reset_counts(self) -> None:
        """Forget the calls counted so far (after a warm-up)."""
        self.held.clear()
        self.peak_open = len(self._open)

    async def wait_idle(self) -> None:
        while self._open or self._reports:
            if self._open:
                self._idle.clear()
                await self._idle.wait()
            await asyncio.gather(*list(self._reports.values()), return_exceptions=True)

    def _report(self, call_id: str, handling: Coroutine[Any, Any, object]) -> None:
        """Handle a call's report (what the post-call webhook would say) in a task of its own, after the call's
        earlier reports: reports of different calls are handled at once, as concurrent webhooks are.

        Handled one after another, a slow report held up the reading of the worker's output, the pipe filled,
        and the worker's writes blocked its whole event loop: its calls stopped talking (slots idle)."""
        previous = self._reports.get(call_id)

        async def handle() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await handling
            except Exception:
                log.exception("an agent process's report could not be handled")

        task = asyncio.create_task(handle())
        self._reports[call_id] = task
        task.add_done_callback(
            lambda done: self._reports.pop(call_id, None) if self._reports.get(call_id) is done else None
        )

    async def worker_rss(self) -> list[tuple[int, int]]:
        """Resident and peak memory of each worker now, in bytes."""
        answers = []
        for index, worker in enumerate(self._children):
            worker.rss = asyncio.get_running_loop().create_future()
            await self._send(index, "rss")
            answers.append(await worker.rss)
        return answers

    async def aclose(self) -> None:
        for worker in self._children:
            if worker.process.stdin is not None:
                worker.process.stdin.close()
        for worker in self._children:
            try:
                await asyncio.wait_for(worker.process.wait(), 10)
            except TimeoutError:
                worker.process.kill()
                await worker.process.wait()
            if worker.reader is not None:
                worker.reader.cancel()
        self._children.clear()

    async def _send(self, index: int, line: str) -> None:
        stdin = self._children[index].process.stdin
        assert stdin is not None
        stdin.write(line.encode() + b"\n")
        await stdin.drain()

    async def _read(self, worker: _Worker) -> None:
        assert worker.process.stdout is not None and self._ports is not None
        ports = self._ports
        while line := await worker.process.stdout.readline():
            kind, _, payload = line.decode().strip().partition(" ")
            try:
                if kind == "done":
                    call_id, _, seconds = payload.partition(" ")
                    self.held.append(float(seconds))
                    self._open.pop(call_id, None)
                    if not self._open:
                        self._idle.set()
                elif kind == "end":
                    call_id, status, reason = _decode(payload)
                    self._report(call_id, end_call_task(ports, call_id, status, reason=reason))
                elif kind == "transcript":
                    call_id, turns = _decode(payload)
                    self._report(call_id, record_transcript(ports, call_id, turns))
                elif kind == "rss" and worker.rss is not None:
                    now, peak = payload.split()
                    worker.rss.set_result((int(now), int(peak)))
            except Exception:
                log.exception("an agent process's report could not be handled")
        # A worker that died leaves its calls open: count them as done so the run ends and says so.
        for call_id in [c for c, i in self._open.items() if self._children and self._children[i] is worker]:
            self._open.pop(call_id, None)
        if not self._open:
            self._idle.set()


if __name__ == "__main__":
    sys.exit(main())
