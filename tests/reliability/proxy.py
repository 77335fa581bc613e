"""A loopback TCP proxy that can cut every connection or stop listening: a dependency that restarts or
goes away, without touching the real server other tests share."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Sequence


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``; ``port`` stays the same across ``stop``/``start``.

    With ``also`` it is a round-robin load balancer: each new connection goes to the next of the targets.
    """

    def __init__(self, target_host: str, target_port: int, *, also: Sequence[tuple[str, int]] = ()) -> None:
        self._targets = itertools.cycle([(target_host, target_port), *also])
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def sever(self) -> None:
        """Cut every open connection (as a restarting server does); new ones are still accepted."""
        for writer in list(self._writers):
            writer.transport.abort()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def stop(self) -> None:
        """Stop listening and cut every connection (the dependency is down)."""
        if self._server is not None:
            self._server.close()
            await self.sever()
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*next(self._targets))
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update((client_writer, upstream_writer))
        pipes = [
            asyncio.create_task(self._pipe(client_reader, upstream_writer)),
            asyncio.create_task(self._pipe(upstream_reader, client_writer)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)
            for writer in (client_writer, upstream_writer):
                self._writers.discard(writer)
                writer.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
