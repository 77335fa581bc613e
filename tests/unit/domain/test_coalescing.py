"""The coalescer behind the live view: bursts fold into few runs, and the last request is never lost."""

from __future__ import annotations

import asyncio

import pytest

from domain.services.coalescing import Coalescer


async def test_inline_simply_runs_the_work() -> None:
    runs: list[int] = []

    async def work() -> None:
        runs.append(1)

    await Coalescer().request("c", work)
    assert runs == [1]


async def test_a_burst_becomes_one_run_plus_one_for_what_came_while_it_ran() -> None:
    coalescer = Coalescer(inline=False)
    started, release = asyncio.Event(), asyncio.Event()
    seen: list[int] = []
    state = {"value": 0}

    async def work() -> None:
        seen.append(state["value"])
        started.set()
        await release.wait()

    state["value"] = 1
    await coalescer.request("c", work)
    await started.wait()
    for value in range(2, 16):  # fourteen more events while the first run is busy
        state["value"] = value
        await coalescer.request("c", work)
    release.set()
    await coalescer.drain()
    assert seen == [1, 15]  # the second run saw the last state


async def test_keys_run_independently_and_failures_do_not_escape(caplog: pytest.LogCaptureFixture) -> None:
    coalescer = Coalescer(inline=False)
    done: list[str] = []

    async def broken() -> None:
        raise RuntimeError("boom")

    async def fine() -> None:
        done.append("b")

    await coalescer.request("a", broken)
    await coalescer.request("b", fine)
    await coalescer.drain()
    assert done == ["b"]
    assert "coalesced work for a failed" in caplog.text


async def test_closing_cancels_what_is_pending() -> None:
    coalescer = Coalescer(inline=False)
    never, started, cancelled = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def work() -> None:
        started.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    await coalescer.request("c", work)
    await started.wait()
    await coalescer.aclose()
    assert cancelled.is_set()
