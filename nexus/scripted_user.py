"""The user of a world file, in the loop: answers the agents' questions the way the world file scripts it.

A notification sink (for the ``NotificationHub`` of ``nexus simulate``): when a question reaches the user,
the answer for its topic is given through the same use case a button in the chat uses; a topic the script
leaves out stays unanswered (the agent's wait runs out and the call goes on without it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from domain.errors import DomainError
from domain.notifications import Notification, QuestionAsked
from domain.services.context import Ports
from domain.services.user_loop import answer_question

log = logging.getLogger(__name__)


class ScriptedUser:
    def __init__(self, ports: Ports, answers: Mapping[str, str]) -> None:
        self._ports = ports
        self._answers = dict(answers)
        self.asked: list[str] = []  # every question that reached the user, in order
        self.answered: list[str] = []

    async def notify(self, user_id: int, notification: Notification) -> None:
        if not isinstance(notification, QuestionAsked):
            return
        question = notification.question
        self.asked.append(question.question)
        answer = self._answers.get(question.topic)
        if answer is None:
            return
        try:
            await answer_question(self._ports, user_id, question.id, answer)
        except DomainError as exc:
            log.warning("the scripted user could not answer %s: %s", question.id, exc)
            return
        self.answered.append(question.question)
