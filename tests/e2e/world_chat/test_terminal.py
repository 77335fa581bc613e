"""``nexus chat`` as a person sees it: a real process on a pseudo-terminal, keys typed, the screen read."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.db import sqlite_url

WORLD = Path(__file__).parents[3] / "examples" / "worlds" / "dentist_tuesday.json"
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


class Terminal:
    """``nexus chat`` on a pty: ``type`` keys, ``wait_for`` text to appear on the screen."""

    def __init__(self, cwd: Path) -> None:
        main, side = pty.openpty()
        fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        env = {
            **os.environ,
            "DATABASE_URL": sqlite_url(cwd),
            "NEXUS_MODE": "mock_ai",
            "TERM": "xterm",
            "PROMPT_TOOLKIT_NO_CPR": "1",
        }
        for name in ("REDIS_URL", "TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY"):
            env.pop(name, None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nexus.cli", "chat", "--world", str(WORLD)],
            stdin=side,
            stdout=side,
            stderr=side,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        os.close(side)
        self._fd = main
        self.screen = ""  # everything shown so far, without terminal escape codes

    def type(self, keys: str) -> None:
        os.write(self._fd, keys.encode())

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self._fd, 65536)
        except OSError:  # the process has gone and closed its side
            return False
        self.screen += _ESCAPES.sub("", data.decode(errors="replace"))
        return bool(data)

    def wait_for(self, pattern: str, since: int = 0, timeout: float = 30) -> int:
        """Read until ``pattern`` (a regular expression) shows after position ``since``; returns where it ends."""
        deadline = time.monotonic() + timeout
        while (found := re.search(pattern, self.screen[since:], re.S)) is None:
            if time.monotonic() > deadline or (not self._read(0.2) and self.process.poll() is not None):
                raise AssertionError(f"{pattern!r} never appeared; the screen shows:\n{self.screen[since:]}")
        return since + found.end()

    def exit_code(self, timeout: float) -> int:
        """The exit code, reading the screen meanwhile (a process blocked on a full pty never ends)."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        code = self.process.poll()
        assert code is not None, f"nexus chat still runs {timeout} s later; the screen shows:\n{self.screen}"
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        os.close(self._fd)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    shown = Terminal(tmp_path)
    try:
        yield shown
    finally:
        shown.close()


def test_a_whole_booking_in_the_terminal(terminal: Terminal, tmp_path: Path) -> None:
    at = terminal.wait_for(r"/quit leaves\.\n+>")
    welcome = terminal.screen[:at]
    assert "Tap" not in welcome and "Share my location" not in welcome

    terminal.type("dentist next Tuesday afternoon near Alexanderplatz\r")
    # the card's buttons, then the dentist expert's question (check-up, cleaning, pain, skip)
    at = terminal.wait_for(
        r"Shall I call providers for you\?\n  \[1\] 📞 Call providers.*\[3\] Cancel\n.*\[7\] Skip\n+>", at
    )
    terminal.type("99\r")
    at = terminal.wait_for(r"There is no choice 99\. Type one of the numbers below:\n  \[1\] 📞 Call providers", at)
    terminal.type("1\r")
    at = terminal.wait_for(r"Here are the best times I found for a dentist:.*Book 1", at)
    # The shortlist arrived while the prompt waited: the prompt is drawn again below it.
    at = terminal.wait_for(r"\n>", at)
    book = re.findall(r"\[(\d+)\] Book 1", terminal.screen)[-1]
    terminal.type(f"{book}\r")
    at = terminal.wait_for(r"Booked:.*\(saved (\S+\.ics)\)", at)
    saved = re.findall(r"\(saved (\S+\.ics)\)", terminal.screen)[-1]
    path = Path(saved)
    assert path.parent == tmp_path and path.read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert re.fullmatch(r"[a-z-]+-2026-12-01-\d{4}\.ics", path.name)
    terminal.wait_for(r"\n>", at)
    terminal.type("/quit\r")
    assert terminal.exit_code(timeout=15) == 0


def test_ctrl_c_at_the_prompt_leaves_at_once(terminal: Terminal) -> None:
    terminal.wait_for(r"/quit leaves\.\n+>")
    terminal.type("\x03")
    assert terminal.exit_code(timeout=15) == 0


def test_piped_input_gets_plain_lines(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": sqlite_url(tmp_path), "NEXUS_MODE": "mock_ai"}
    for name in ("REDIS_URL", "TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "nexus.cli", "chat", "--world", str(WORLD)],
        input="dentist next Tuesday afternoon near Alexanderplatz\n99\n/quit\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=True,
    )
    assert "\x1b" not in done.stdout and "not a terminal" not in done.stdout + done.stderr
    assert "Shall I call providers for you?\n  [1] 📞 Call providers" in done.stdout
    assert "There is no choice 99." in done.stdout
