"""The notifier the domain talks to: it hands every notification to whoever listens in this process."""

from __future__ import annotations

import logging

from domain.notifications import Notification
from domain.ports import Notifier

log = logging.getLogger(__name__)


class NotificationHub:
    """Fans notifications out to subscribed sinks (the Telegram bot, the terminal, a watcher).

    A failing sink is logged and never stops the others or the use case that notified.
    """

    def __init__(self) -> None:
        self._sinks: list[Notifier] = []

    def subscribe(self, sink: Notifier) -> None:
        self._sinks.append(sink)

    def unsubscribe(self, sink: Notifier) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    async def notify(self, user_id: int, notification: Notification) -> None:
        for sink in list(self._sinks):
            try:
                await sink.notify(user_id, notification)
            except Exception:
                log.exception("a notification sink failed on %s", type(notification).__name__)
