"""``nexus demo``: a whole campaign on the bundled directory, as a person sees it in the terminal."""

from __future__ import annotations

import io

from rich.console import Console

from nexus.demo import run_demo


async def _demo(request: str, near: str, book: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, width=140, force_terminal=False, color_system=None)
    await run_demo(console, request, near, book, seed=7, timezone="Europe/Berlin", time_scale=0)
    return out.getvalue()


async def test_the_demo_calls_providers_ranks_offers_and_books_the_best() -> None:
    shown = await _demo("dentist next Tuesday afternoon", "Alexanderplatz", book=True)
    assert "Request: dentist next Tuesday afternoon near Alexanderplatz" in shown
    assert "Calling 15 dentist providers: 15 done" in shown
    assert "Your shortlist" in shown
    booked = [line for line in shown.splitlines() if line.startswith("Booked: ")]
    gone = "could no longer offer that time" in shown
    assert booked or gone, shown
    if booked:
        assert "Tuesday" in booked[0]


async def test_an_unknown_place_is_said_plainly() -> None:
    shown = await _demo("dentist tomorrow", "Atlantis", book=False)
    assert "I don't know the place 'Atlantis'" in shown
