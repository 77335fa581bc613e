"""Work that only needs to happen once for a burst of reasons: the live view of a campaign's calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[None]]


class Coalescer:
    """Runs ``work`` for a key, folding requests that arrive while it waits or runs into one more run.

    ``inline`` (the default) simply awaits the work, as a plain call would. Otherwise the work runs in a task
    of its own after the caller has moved on, so a tool request does not wait for the live view: a burst of
    15 call events becomes two publishes, and the last request always gets a run that starts after it.
    Tasks are kept by reference; ``aclose`` cancels and awaits them.
    """

    def __init__(self, inline: bool = True) -> None:
        self.inline = inline
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()

    async def request(self, key: str, work: Work) -> None:
        if self.inline:
            await work()
            return
        if key in self._running:
            self._again.add(key)
            return
        task = asyncio.get_running_loop().create_task(self._run(key, work), name=f"coalesced-{key}")
        self._running[key] = task
        task.add_done_callback(lambda _: self._running.pop(key, None))

    async def _run(self, key: str, work: Work) -> None:
        while True:
            self._again.discard(key)
            try:
                await work()
            except Exception:
                log.exception("coalesced work for %s failed", key)
            if key not in self._again:
                return

    async def drain(self) -> None:
        """Wait until nothing is pending (tests, and an orderly shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*list(self._running.values()), return_exceptions=True)
