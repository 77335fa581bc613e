"""Work a conversation starts and does not wait for (a campaign's provider search and dialling).

An update handler must answer at once: waiting for a campaign inside it would hold the chat (and, with
one update at a time, every chat) until every call is placed. Tasks are kept by reference, their
failures logged, and ``aclose`` lets what still runs at shutdown finish for a moment, then cancels it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

# How long shutdown waits for started work (placing a campaign's calls takes a moment) before cancelling it:
# a database statement cut off mid-flight can leave the SQLite driver's thread running, and the loop then
# never finishes closing.
CLOSE_GRACE_SECONDS = 5.0


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background work %s failed", task.get_name(), exc_info=error)

    async def drain(self) -> None:
        """Wait until every task started so far (and any they start) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self, grace_seconds: float = CLOSE_GRACE_SECONDS) -> None:
        tasks = list(self._tasks)
        if not tasks:
            return
        _, busy = await asyncio.wait(tasks, timeout=grace_seconds)
        for task in busy:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
