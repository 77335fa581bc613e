"""Callback data: ``action:argument``, short enough for Telegram's 64 bytes.

The argument only names an object; whether the tapping user owns it is always checked through the use
cases, so forged data gets nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass

# On a summary card, bound to one version of the draft.
GO = "go"
CHANGE = "chg"
DROP = "drop"
EDIT = "edit"
RADIUS = "rad"
PICK = "pick"  # one reading of a doubtful request
# On the live view, the shortlist and the appointment list, bound to stored objects.
STOP = "stop"
BOOK = "book"
TRANSCRIPT = "tr"
AGAIN = "again"
DISMISS = "dis"
CANCEL_APPOINTMENT = "cxa"
# Settings of the tapping user.
PRESET = "w"
SET_RADIUS = "r"
REMINDERS = "rem"
HOME = "home"
TIMEZONE = "tz"
# /delete_my_data: the confirmation, bound to when it was asked (it expires), and keeping the data.
DELETE_DATA = "deldata"
KEEP_DATA = "keepdata"

# The user in the loop: a running call and the questions it asks (see bot.live_calls), the profile.
LISTEN = "ls"
STOP_CALL = "sc"
INSTRUCT = "ins"
INSTRUCT_CALL = "ic"
ANSWER = "qa"
PROFILE = "pf"
# On an expert's question before calling, bound to one version of the draft: question key, choice (or skip).
EXPERT_ANSWER = "ans"
# After the first search (bot.rounds): keep looking, widen, watch for an earlier slot, swap, reschedule.
KEEP_LOOKING = "kl"
WIDEN = "wd"
STOP_LOOKING = "sl"
WATCH = "wt"
WATCH_UNTIL = "wu"
SWAP = "sw"
KEEP_MINE = "km"
RESCHEDULE = "rs"

ACTIONS = frozenset(
    {GO, CHANGE, DROP, EDIT, RADIUS, PICK, STOP, BOOK, TRANSCRIPT, AGAIN, DISMISS, CANCEL_APPOINTMENT}
    | {PRESET, SET_RADIUS, REMINDERS, HOME, TIMEZONE}
    | {LISTEN, STOP_CALL, INSTRUCT, INSTRUCT_CALL, ANSWER, PROFILE, EXPERT_ANSWER}
    | {DELETE_DATA, KEEP_DATA}
    | {KEEP_LOOKING, WIDEN, STOP_LOOKING, WATCH, WATCH_UNTIL, SWAP, KEEP_MINE, RESCHEDULE}
)


class Expired(Exception):
    """The tapped button no longer stands for anything this user may act on."""


@dataclass(frozen=True, slots=True)
class Tap:
    action: str
    args: tuple[str, ...]

    def arg(self, index: int = 0) -> str:
        return self.args[index] if index < len(self.args) else ""


def parse(data: str) -> Tap | None:
    """The tap ``data`` stands for, or ``None`` when it is not ours."""
    action, *args = data.split(":")
    if action not in ACTIONS or len(data.encode()) > 64:
        return None
    return Tap(action, tuple(args))


def draft(action: str, draft_id: str, *extra: str) -> str:
    return ":".join((action, draft_id, *extra))


def campaign(action: str, campaign_id: str) -> str:
    return f"{action}:{campaign_id}"


def offer(action: str, offer_id: str) -> str:
    return f"{action}:{offer_id}"


def appointment(action: str, appointment_id: str) -> str:
    return f"{action}:{appointment_id}"


def setting(action: str, value: str = "") -> str:
    return f"{action}:{value}"


def call(action: str, call_id: str) -> str:
    return f"{action}:{call_id}"


def answer(question_id: str, choice: int) -> str:
    return f"{ANSWER}:{question_id}:{choice}"
