"""Scale out: the same tool load against one NEXUS server process and against two sharing one port.

Both set-ups run at once on one PostgreSQL database and one Redis (the second pair listens with
``SO_REUSEPORT``, as two ``nexus serve --reuse-port`` would) and take turns in rounds, so both see the same
machine. ``get-distance`` is the tool that needs the database least; the others are measured the same way
and reported as they are. The load comes from this process; how many cores it used is printed too, since a
load generator that takes a whole core of a 2-core machine leaves the pair of servers one core between them.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack

import aiohttp

from benchmarks.databases import REDIS_URL, postgres_database, servers_reachable
from benchmarks.latency import (
    SECRET,
    Emit,
    Tally,
    Target,
    cpu_seconds,
    measure_rounds,
    pids_named,
    seed,
    tool_agents,
)
from benchmarks.processes import nexus_server

TOOLS = ("get_distance", "check_availability")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def run_scale(agents: int, rounds: int, seconds: float, emit: Emit, tools: Sequence[str] = TOOLS) -> None:
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(postgres_database())
        seeded = await seed(url, agents)
        prefix = f"nexus-bench:{uuid.uuid4().hex[:8]}:holds"
        single = await stack.enter_async_context(nexus_server(url, SECRET, REDIS_URL, ["--holds-prefix", prefix]))
        shared = ["--holds-prefix", prefix, "--reuse-port", "--port", str(free_port())]
        first = await stack.enter_async_context(nexus_server(url, SECRET, REDIS_URL, shared))
        second = await stack.enter_async_context(nexus_server(url, SECRET, REDIS_URL, shared))
        http = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=agents), timeout=aiohttp.ClientTimeout(total=60))
        )
        tokens = [token for _, token in seeded.steady]
        targets: list[Target] = []
        for tool in tools:
            targets.append(
                Target(f"{tool}.one", [single.pid], tool_agents(single.base_url, tool, tokens, agents, seeded.day))
            )
            targets.append(
                Target(
                    f"{tool}.two",
                    [first.pid, second.pid],
                    tool_agents(first.base_url, tool, tokens, agents, seeded.day),
                )
            )
        began, client_cpu = time.monotonic(), cpu_seconds([os.getpid()])
        observe = {"load_generator": lambda: [os.getpid()], "databases": lambda: pids_named("postgres", "redis-server")}
        await measure_rounds(http, targets, rounds, seconds, warmup=min(1.0, seconds), observe=observe)
        # The load comes from this one process: when it uses a whole core, the servers cannot be pushed harder.
        share = (cpu_seconds([os.getpid()]) - client_cpu) / (time.monotonic() - began)
        emit("scale.postgres_redis.load_generator_cores_used", f"{share:.2f}")
        emit("scale.postgres_redis.load_average", " ".join(f"{x:.2f}" for x in os.getloadavg()))
        by_name = {t.name: t.tally for t in targets}
        for tool in tools:
            one, two = by_name[f"{tool}.one"], by_name[f"{tool}.two"]
            name = f"scale.postgres_redis.{tool}"
            emit(f"{name}.one_process.requests_per_s", f"{one.rate:.0f}")
            emit(f"{name}.two_processes.requests_per_s", f"{two.rate:.0f}")
            emit(f"{name}.throughput_two_vs_one", f"{two.rate / one.rate:.2f}" if one.rate else "nan")
            rates = [b / a for a, b in zip(one.round_rate, two.round_rate, strict=False) if a]
            emit(f"{name}.throughput_two_vs_one_by_round", " ".join(f"{r:.2f}" for r in rates))
            emit(f"{name}.one_process.p99_ms", f"{one.percentile(0.99) * 1000:.1f}")
            emit(f"{name}.two_processes.p99_ms", f"{two.percentile(0.99) * 1000:.1f}")
            emit(f"{name}.one_process.cpu_ms_per_request", f"{one.cpu_ms:.2f}")
            emit(f"{name}.two_processes.cpu_ms_per_request", f"{two.cpu_ms:.2f}")
            emit(f"{name}.errors", f"{one.errors} / {two.errors}")
            _emit_ceiling(name, one, two, emit)


def _emit_ceiling(name: str, one: Tally, two: Tally, emit: Emit) -> None:
    """What two processes could reach at best on this machine: every core busy, each request costing what the
    pair's requests cost (server, load generator, PostgreSQL and Redis). Not measured when a process's CPU
    cannot be read (the databases run elsewhere or as another user)."""
    if not two.requests or not one.rate:
        return
    server = 1000 * two.cpu / two.requests
    generator = 1000 * two.observed.get("load_generator", 0.0) / two.requests
    databases = 1000 * two.observed.get("databases", 0.0) / two.requests
    emit(f"{name}.two_processes.cpu_ms_per_request_load_generator", f"{generator:.2f}")
    emit(f"{name}.two_processes.cpu_ms_per_request_databases", f"{databases:.2f}")
    cores = os.cpu_count() or 1
    best = 1000 * cores / (server + generator + databases)
    emit(f"{name}.throughput_two_vs_one_ceiling_on_this_machine", f"{best / one.rate:.2f}")


async def run_scale_out(agents: int, rounds: int, seconds: float, emit: Emit) -> None:
    if not servers_reachable():
        emit("scale.postgres_redis", "not measured (PostgreSQL or Redis unreachable)")
        return
    try:
        await run_scale(agents, rounds, seconds, emit)
    except Exception as error:  # a benchmark says what it could not measure and carries on
        emit("scale.postgres_redis", f"not measured ({type(error).__name__}: {error})")
