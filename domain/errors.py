"""What can go wrong in the business of NEXUS.

Every error the domain raises is a ``DomainError``; adapters translate their own failures into these
before they reach a use case, and the HTTP layer turns them into 4xx answers::

    DomainError
    ├── InvalidRequest          the caller sent something that cannot be acted on (400)
    ├── NotAuthorized           the caller did not prove who it is (401)
    ├── NotFound                the thing named does not exist, or is not the caller's (404)
    ├── NotAllowed              the action is not permitted in this call or state (409)
    │   ├── IllegalTransition   a campaign or call may not move to the state asked for
    │   └── QuotaExceeded       the user started too many campaigns lately (429)
    │       └── MinutesExhausted  the user's call minutes of this month are used up
    ├── CallClosed              the call has ended or its campaign is over (409)
    ├── SlotConflict            the time overlaps something the user already has (409)
    ├── ConcurrentUpdate        somebody else changed the record first; retry (409)
    └── DependencyUnavailable   a port's outside service cannot answer right now (503)
        ├── CalendarUnavailable the user's calendar cannot be read: fail closed
        └── DeliveryFailed      a message did not reach the user (try again later, or never)
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises; ``str(error)`` is a sentence for a person."""

    code = "error"


class InvalidRequest(DomainError):
    code = "invalid_request"


class NotAuthorized(DomainError):
    code = "unauthorized"


class NotFound(DomainError):
    code = "not_found"


class NotAllowed(DomainError):
    code = "not_allowed"


class IllegalTransition(NotAllowed):
    code = "illegal_transition"


class QuotaExceeded(NotAllowed):
    code = "quota_exceeded"


class MinutesExhausted(QuotaExceeded):
    """The user's call minutes for this month are used up; the message is in the user's language."""

    code = "minutes_exhausted"


class CallClosed(DomainError):
    code = "call_closed"


class SlotConflict(DomainError):
    code = "conflict"


class ConcurrentUpdate(DomainError):
    code = "concurrent_update"


class DependencyUnavailable(DomainError):
    code = "unavailable"


class CalendarUnavailable(DependencyUnavailable):
    code = "cannot_verify"


class DeliveryFailed(DependencyUnavailable):
    """A message could not be delivered. ``retry_after`` (seconds) is when the messenger allows the next
    try (Telegram's 429); ``permanent`` means trying again cannot help (the user blocked the bot);
    ``deferred`` means it was not tried at all (it waits for its turn) and does not count as a try."""

    code = "delivery_failed"

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False, deferred: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.deferred = deferred
