"""The floors: what the fastest tool endpoint doing the same kind of work could answer on this machine.

    python -m benchmarks.floor [--port 0]                               POST /api/echo: JSON in, JSON out
    python -m benchmarks.floor --postgres URL --redis URL [--pool 10]   POST /api/floor: one asyncpg
        transaction (a primary-key read and an insert) and one Redis EVALSHA
    python -m benchmarks.floor --sqlite PATH                            POST /api/floor: one aiosqlite
        transaction (a primary-key read and an insert), writers taking turns as NEXUS's do

It prints ``serving <base url>`` once it listens. The database floors are the reference a tool request is
measured against: a tool request reads a call and writes a little, and (at scale) takes a hold in Redis.
The echo is kept for information only: it shows what aiohttp itself costs.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

ROWS = 1000
# As small as the hold script's job: note a field in a hash and keep the key alive.
_SCRIPT = "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) redis.call('PEXPIRE', KEYS[1], 60000) return 1"
_CREATE_ITEMS = "CREATE TABLE IF NOT EXISTS bench_floor_items (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)"
_CREATE_EVENTS = (
    "CREATE TABLE IF NOT EXISTS bench_floor_events (item_id INTEGER NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL)"
)

Work = Callable[[int, str], Awaitable[str]]


async def echo(request: web.Request) -> web.Response:
    """Parse the JSON body and answer a small JSON object, as a tool endpoint does, with no work between."""
    body = await request.json()
    return web.json_response({"status": "ok", "message": "Nothing was done.", "fields": len(body)})


def floor_handler(work: Work) -> Callable[[web.Request], Awaitable[web.Response]]:
    counter = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal counter
        body = await request.json()
        counter += 1
        payload = await work(counter % ROWS + 1, str(body.get("time", "")))
        return web.json_response({"status": "ok", "message": "Read one row and wrote one.", "payload": payload})

    return handle


async def postgres_work(stack: AsyncExitStack, url: str, redis_url: str, pool_size: int) -> Work:
    import asyncpg
    import redis.asyncio as redis

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
    stack.push_async_callback(pool.close)
    async with pool.acquire() as connection:
        await connection.execute(_CREATE_ITEMS)
        await connection.execute(_CREATE_EVENTS)
        await connection.execute(
            "INSERT INTO bench_floor_items SELECT g, 'row ' || g FROM generate_series(1, $1) g ON CONFLICT DO NOTHING",
            ROWS,
        )
    client = redis.from_url(redis_url)
    stack.push_async_callback(client.aclose)
    sha = await client.script_load(_SCRIPT)
    key = f"nexus-bench:floor:{datetime.now(UTC).timestamp()}"
    stack.push_async_callback(client.delete, key)

    async def work(item: int, body: str) -> str:
        async with pool.acquire() as connection, connection.transaction():
            payload = await connection.fetchval("SELECT payload FROM bench_floor_items WHERE id = $1", item)
            await connection.execute(
                "INSERT INTO bench_floor_events (item_id, at, body) VALUES ($1, $2, $3)",
                item,
                datetime.now(UTC).isoformat(),
                body,
            )
        await client.evalsha(sha, 1, key, str(item), body)
        return str(payload)

    return work


async def sqlite_work(stack: AsyncExitStack, path: str) -> Work:
    import aiosqlite

    connection = await aiosqlite.connect(path, isolation_level=None)
    stack.push_async_callback(connection.close)
    await connection.execute("PRAGMA journal_mode=WAL")
    await connection.execute(_CREATE_ITEMS)
    await connection.execute(_CREATE_EVENTS)
    await connection.executemany(
        "INSERT OR IGNORE INTO bench_floor_items VALUES (?, ?)", [(i, f"row {i}") for i in range(1, ROWS + 1)]
    )
    turn = asyncio.Lock()

    async def work(item: int, body: str) -> str:
        async with turn:
            await connection.execute("BEGIN IMMEDIATE")
            try:
                async with connection.execute("SELECT payload FROM bench_floor_items WHERE id = ?", (item,)) as cur:
                    row: Any = await cur.fetchone()
                await connection.execute(
                    "INSERT INTO bench_floor_events (item_id, at, body) VALUES (?, ?, ?)",
                    (item, datetime.now(UTC).isoformat(), body),
                )
                await connection.execute("COMMIT")
            except BaseException:
                await connection.execute("ROLLBACK")
                raise
        return str(row[0])

    return work


async def serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with AsyncExitStack() as stack:
        app = web.Application()
        app.router.add_post("/api/echo", echo)
        if args.postgres:
            app.router.add_post(
                "/api/floor", floor_handler(await postgres_work(stack, args.postgres, args.redis, args.pool))
            )
        elif args.sqlite:
            app.router.add_post("/api/floor", floor_handler(await sqlite_work(stack, args.sqlite)))
        async for base_url in _listening(app, args.host, args.port):
            print(f"serving {base_url}", flush=True)
            await stop.wait()


async def _listening(app: web.Application, host: str, port: int) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        yield f"http://{bound[0]}:{bound[1]}"
    finally:
        await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--postgres", help="asyncpg floor on this database (postgresql[+asyncpg]://...)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis of the PostgreSQL floor")
    parser.add_argument("--pool", type=int, default=10, help="PostgreSQL connections (as NEXUS's pool)")
    parser.add_argument("--sqlite", help="aiosqlite floor on this database file")
    asyncio.run(serve(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
