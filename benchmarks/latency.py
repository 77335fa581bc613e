"""Tool latency against the database floor, measured so that a busy machine still gives ratios that hold.

For each database (SQLite with in-process holds; PostgreSQL with Redis holds) one NEXUS server process, the
database floor of that database (``benchmarks.floor``: the same kind of transaction, written raw) and the
bare echo are started side by side. Every target gets a warm-up; then the targets take turns in rounds, each
round a few seconds per target with N agents (one open request each), so floor and NEXUS see the same
machine. Each tool has a fixed mix: ``check-availability`` and ``get-distance`` cycle through fixed times,
``report-slot-offer existing`` reports offers its call already made, ``report-slot-offer new`` reports a
new start every time (its offers are deleted before each round, so every round starts alike). CPU per
request is read from the server process (``/proc/<pid>/stat``). Whatever cannot be measured is said, and
the run goes on.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import delete

from benchmarks.databases import REDIS_URL, postgres_database, servers_reachable, sqlite_database
from benchmarks.processes import nexus_server, server_process
from benchmarks.seeding import TIMEZONE, RecordingVoiceGateway, negotiating_calls, search_window, seeding_ports
from storage.engine import create_engine
from storage.orm import OfferRow
from storage.uow import make_uow_factory
from tools_server.tools import CALL_TOKEN_HEADER, TOOL_SECRET_HEADER

SECRET = "benchmark-secret"  # noqa: S105 - a throw-away server's secret
CALLS_PER_CAMPAIGN = 15
TOOLS = ("check_availability", "report_slot_offer_existing", "report_slot_offer_new", "get_distance")
EXISTING_OFFER_TIMES = ("9:00", "10:30", "14:00")
CHECK_TIMES = tuple(f"{hour}:{minute:02d}" for hour in range(8, 17) for minute in (0, 30))
_TICK = os.sysconf("SC_CLK_TCK")
# PostgreSQL connections of NEXUS and of the floor alike (NEXUS's default DATABASE_POOL_SIZE unless set).
POOL_SIZE = int(os.environ.get("NEXUS_BENCH_POOL_SIZE", "10"))

Emit = Callable[[str, str], None]
Request = tuple[str, dict[str, str], dict[str, Any]]


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time the processes have used so far (Linux ``/proc/<pid>/stat``); a process that
    has exited since its pid was taken counts nothing."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            continue
        # The command name may hold spaces; the fields after its closing parenthesis do not.
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the whole line)
    return total / _TICK


def pids_named(*names: str) -> list[int]:
    """The processes whose command name is one of ``names`` (``postgres``, ``redis-server``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    found.append(int(entry.name))
            except OSError:
                continue  # gone, or not ours to read
    return found


@dataclass
class Tally:
    """What one target measured over all its rounds."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    round_p99: list[float] = field(default_factory=list)
    round_rate: list[float] = field(default_factory=list)
    error_sample: str = ""
    # CPU seconds of other processes while this target ran (the load generator, the databases), by name.
    observed: dict[str, float] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        return percentile(self.latencies, share)

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.requests if self.requests else float("nan")


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Target:
    """One thing to measure: the server processes that answer it and what each agent sends."""

    name: str
    pids: list[int]
    agents: list[Callable[[], Request]]
    before_round: Callable[[], Awaitable[None]] | None = None
    tally: Tally = field(default_factory=Tally)


async def load(
    http: aiohttp.ClientSession, agents: list[Callable[[], Request]], seconds: float, tally: Tally | None
) -> None:
    """Each agent sends its next request, again and again, one at a time, for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    until = time.monotonic() + seconds

    async def agent(make: Callable[[], Request]) -> None:
        nonlocal errors
        while time.monotonic() < until:
            url, headers, body = make()
            started = time.perf_counter()
            try:
                async with http.post(url, json=body, headers=headers) as response:
                    text = await response.read()
                    ok = response.status == 200
                    if not ok and tally is not None and not tally.error_sample:
                        tally.error_sample = f"{response.status} {text[:200]!r}"
            except (aiohttp.ClientError, TimeoutError) as error:
                ok = False
                if tally is not None and not tally.error_sample:
                    tally.error_sample = repr(error)[:200]
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    began = time.monotonic()
    await asyncio.gather(*(agent(make) for make in agents))
    if tally is not None:
        elapsed = time.monotonic() - began
        tally.latencies.extend(latencies)
        tally.errors += errors
        tally.seconds += elapsed
        tally.round_p99.append(percentile(latencies, 0.99))
        tally.round_rate.append(len(latencies) / elapsed)


async def measure_rounds(
    http: aiohttp.ClientSession,
    targets: list[Target],
    rounds: int,
    seconds: float,
    warmup: float,
    observe: Mapping[str, Callable[[], Sequence[int]]] | None = None,
) -> None:
    """Warm every target up, then run the rounds; the order turns each round so no target always goes first.

    ``observe`` names other processes (their pids, looked up at each round) whose CPU is added up per target."""
    for target in targets:
        if target.before_round is not None:
            await target.before_round()
        await load(http, target.agents, warmup, None)
    for index in range(rounds):
        turn = index % len(targets)
        for target in targets[turn:] + targets[:turn]:
            if target.before_round is not None:
                await target.before_round()
            watched = {name: pids() for name, pids in (observe or {}).items()}
            others_before = {name: cpu_seconds(pids) for name, pids in watched.items()}
            cpu_before = cpu_seconds(target.pids)
            await load(http, target.agents, seconds, target.tally)
            target.tally.cpu += cpu_seconds(target.pids) - cpu_before
            for name, pids in watched.items():
                used = cpu_seconds(pids) - others_before[name]
                target.tally.observed[name] = target.tally.observed.get(name, 0.0) + used


# --- what the agents send ------------------------------------------------------------------------


def _cycling(url: str, headers: dict[str, str], bodies: Sequence[dict[str, Any]], offset: int) -> Callable[[], Request]:
    position = offset

    def make() -> Request:
        nonlocal position
        body = bodies[position % len(bodies)]
        position += 1
        return url, headers, body

    return make


def tool_agents(base_url: str, tool: str, tokens: Sequence[str], count: int, day: date) -> list[Callable[[], Request]]:
    """``count`` agents of ``tool``, one per token (tokens are reused when there are fewer)."""
    agents = []
    for index in range(count):
        headers = {TOOL_SECRET_HEADER: SECRET, CALL_TOKEN_HEADER: tokens[index % len(tokens)]}
        if tool == "check_availability":
            bodies = [{"date": day.isoformat(), "time": t} for t in CHECK_TIMES]
            agents.append(_cycling(f"{base_url}/api/check-availability", headers, bodies, index))
        elif tool == "get_distance":
            agents.append(_cycling(f"{base_url}/api/get-distance", headers, [{}], 0))
        elif tool == "report_slot_offer_existing":
            bodies = [{"date": day.isoformat(), "time": t} for t in EXISTING_OFFER_TIMES]
            agents.append(_cycling(f"{base_url}/api/report-slot-offer", headers, bodies, index))
        else:
            agents.append(_NewOffers(f"{base_url}/api/report-slot-offer", headers, day))
    return agents


class _NewOffers:
    """A new start each time: minute by minute through the campaign's days (a round needs a few dozen)."""

    def __init__(self, url: str, headers: dict[str, str], day: date) -> None:
        self.url, self.headers, self.day, self.position = url, headers, day, 0

    def reset(self) -> None:
        self.position = 0

    def __call__(self) -> Request:
        index, self.position = self.position, self.position + 1
        day = self.day + timedelta(days=1 + index // 480)
        minute = index % 480
        return self.url, self.headers, {"date": day.isoformat(), "time": f"{8 + minute // 60}:{minute % 60:02d}"}


def floor_agents(base_url: str, path: str, count: int) -> list[Callable[[], Request]]:
    bodies = [{"date": "2026-12-01", "time": t} for t in CHECK_TIMES]
    return [_cycling(f"{base_url}{path}", {}, bodies, index) for index in range(count)]


# --- seeding -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seeded:
    day: date
    # Calls for check-availability, get-distance and existing offers; calls whose new offers are cleared.
    steady: list[tuple[str, str]]
    fresh: list[tuple[str, str]]


async def seed(database_url: str, calls_per_pool: int, attempts: int = 20) -> Seeded:
    """Two pools of negotiating calls, one campaign at a time; a busy database is waited for, not fatal."""
    engine = create_engine(database_url)
    try:
        gateway = RecordingVoiceGateway()
        ports = seeding_ports(make_uow_factory(engine), gateway)
        window = search_window(datetime.now(UTC))
        campaigns = -(-calls_per_pool // CALLS_PER_CAMPAIGN)
        pools: list[list[tuple[str, str]]] = [[], []]
        for user in range(1, 2 * campaigns + 1):
            for attempt in range(attempts):
                try:
                    calls = await negotiating_calls(ports, gateway, [user], CALLS_PER_CAMPAIGN, window)
                    break
                except Exception:
                    if attempt == attempts - 1:
                        raise
                    await asyncio.sleep(0.2 * (attempt + 1))  # a busy machine: wait and try again
            pools[(user - 1) % 2].extend((c.call_id, c.token) for c in calls)
    finally:
        await engine.dispose()
    day = window.start.astimezone(ZoneInfo(TIMEZONE)).date()
    return Seeded(day, pools[0], pools[1])


def clear_offers(database_url: str, call_ids: list[str]) -> Callable[[], Awaitable[None]]:
    async def clear() -> None:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(delete(OfferRow).where(OfferRow.call_task_id.in_(call_ids)))
        finally:
            await engine.dispose()

    return clear


# --- one database --------------------------------------------------------------------------------


@asynccontextmanager
async def _database(kind: str) -> AsyncIterator[tuple[str, list[str], list[str]]]:
    """The database URL, the arguments of its floor, and the extra arguments of its NEXUS server."""
    if kind == "sqlite":
        async with sqlite_database() as url:
            floor_file = str(Path(url.split("///", 1)[1]).with_name("floor.db"))
            yield url, ["--sqlite", floor_file], []
    else:
        prefix = f"nexus-bench:{uuid.uuid4().hex[:8]}:holds"
        async with postgres_database() as url:
            pool = ["--pool", str(POOL_SIZE)]
            yield url, ["--postgres", url, "--redis", REDIS_URL, *pool], ["--holds-prefix", prefix]


async def run_database(
    kind: str, agents: int, rounds: int, seconds: float, emit: Emit, tools: Sequence[str] = TOOLS
) -> None:
    """Measure every tool of ``kind`` against that database's floor, interleaved; emit the lines."""
    async with AsyncExitStack() as stack:
        url, floor_args, nexus_args = await stack.enter_async_context(_database(kind))
        seeded = await seed(url, agents)
        redis = REDIS_URL if kind == "postgres_redis" else None
        pool = {"DATABASE_POOL_SIZE": str(POOL_SIZE)}
        nexus = await stack.enter_async_context(nexus_server(url, SECRET, redis, nexus_args, pool))
        floor = await stack.enter_async_context(server_process("benchmarks.floor", floor_args))
        echo = await stack.enter_async_context(server_process("benchmarks.floor"))
        connector = aiohttp.TCPConnector(limit=agents)
        http = await stack.enter_async_context(
            aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60))
        )
        steady = [token for _, token in seeded.steady]
        fresh = [token for _, token in seeded.fresh]
        await _report_existing_offers(http, nexus.base_url, steady, seeded.day)
        targets = [
            Target("db_floor", [floor.pid], floor_agents(floor.base_url, "/api/floor", agents)),
            Target("echo", [echo.pid], floor_agents(echo.base_url, "/api/echo", agents)),
        ]
        for tool in tools:
            tokens = fresh if tool == "report_slot_offer_new" else steady
            made = tool_agents(nexus.base_url, tool, tokens, agents, seeded.day)
            before = None
            if tool == "report_slot_offer_new":
                before = _restart(made, clear_offers(url, [call_id for call_id, _ in seeded.fresh]))
            targets.append(Target(tool, [nexus.pid], made, before))
        await measure_rounds(http, targets, rounds, seconds, warmup=min(1.0, seconds))
        emit_targets(f"latency.{kind}", targets, emit)


def _restart(
    agents: list[Callable[[], Request]], clear: Callable[[], Awaitable[None]]
) -> Callable[[], Awaitable[None]]:
    async def before() -> None:
        await clear()
        for agent in agents:
            if isinstance(agent, _NewOffers):
                agent.reset()

    return before


async def _report_existing_offers(http: aiohttp.ClientSession, base_url: str, tokens: list[str], day: date) -> None:
    """Every steady call reports its fixed offers once, so the measured reports find them there."""
    for token in tokens:
        headers = {TOOL_SECRET_HEADER: SECRET, CALL_TOKEN_HEADER: token}
        for clock in EXISTING_OFFER_TIMES:
            body = {"date": day.isoformat(), "time": clock}
            async with http.post(f"{base_url}/api/report-slot-offer", json=body, headers=headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"Seeding an offer failed: {response.status} {await response.text()}")


def emit_targets(prefix: str, targets: list[Target], emit: Emit) -> None:
    floor = next(t.tally for t in targets if t.name == "db_floor")
    echo = next(t.tally for t in targets if t.name == "echo")
    for target in targets:
        tally, name = target.tally, f"{prefix}.{target.name}"
        emit(f"{name}.requests_per_s", f"{tally.rate:.0f}")
        emit(f"{name}.p50_ms", f"{tally.percentile(0.5) * 1000:.1f}")
        emit(f"{name}.p99_ms", f"{tally.percentile(0.99) * 1000:.1f}")
        emit(f"{name}.cpu_ms_per_request", f"{tally.cpu_ms:.2f}")
        emit(f"{name}.errors", str(tally.errors) + (f" (first: {tally.error_sample})" if tally.error_sample else ""))
        if target.name in ("db_floor", "echo"):
            continue
        emit(f"{name}.p99_vs_db_floor", f"{tally.percentile(0.99) / floor.percentile(0.99):.2f}")
        emit(f"{name}.throughput_vs_db_floor", f"{tally.rate / floor.rate:.2f}" if floor.rate else "nan")
        # CPU per request swells with the machine's load (floor and NEXUS alike); the ratio holds better.
        emit(f"{name}.cpu_vs_db_floor", f"{tally.cpu_ms / floor.cpu_ms:.2f}" if floor.cpu_ms else "nan")
        by_round = [t / f for t, f in zip(tally.round_p99, floor.round_p99, strict=False)]
        emit(f"{name}.p99_vs_db_floor_by_round", " ".join(f"{r:.2f}" for r in by_round))
        rates = [t / f for t, f in zip(tally.round_rate, floor.round_rate, strict=False) if f]
        emit(f"{name}.throughput_vs_db_floor_by_round", " ".join(f"{r:.2f}" for r in rates))
        emit(f"{name}.p99_vs_echo", f"{tally.percentile(0.99) / echo.percentile(0.99):.2f}")


async def run_latency(agents: int, rounds: int, seconds: float, emit: Emit, kinds: Sequence[str] | None = None) -> None:
    """Both databases (PostgreSQL only when it and Redis answer); what fails is said and the rest goes on."""
    chosen = list(kinds or ("sqlite", "postgres_redis"))
    emit("latency.setup", f"{agents} agents, {rounds} rounds of {seconds:g} s per target, one server process")
    for kind in chosen:
        if kind == "postgres_redis" and not servers_reachable():
            emit(f"latency.{kind}", "not measured (PostgreSQL or Redis unreachable)")
            continue
        try:
            await run_database(kind, agents, rounds, seconds, emit)
        except Exception as error:  # a benchmark says what it could not measure and carries on
            emit(f"latency.{kind}", f"not measured ({type(error).__name__}: {error})")
