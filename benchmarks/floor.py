"""The floor: a bare aiohttp JSON endpoint, the fastest a tool endpoint on this machine could answer.

python -m benchmarks.floor [--port 0]     prints ``serving <base url>``; POST /api/echo
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    """Parse the JSON body and answer a small JSON object, as a tool endpoint does, with no work between."""
    body = await request.json()
    return web.json_response({"status": "ok", "message": "Nothing was done.", "fields": len(body)})


async def serve(host: str, port: int) -> None:
    app = web.Application()
    app.router.add_post("/api/echo", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        print(f"serving http://{bound[0]}:{bound[1]}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
