"""When to call a provider: not while it is closed, and once more after a voicemail box answered.

Pure decisions; ``campaigns`` stores them as call tasks with a ``not_before`` time that the sweep dials.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from domain.models import Provider


def first_call_time(provider: Provider, now: datetime, deadline: datetime, timezone: str) -> datetime | None:
    """``now`` when the provider is open (or its hours are unknown), the time it opens when that is before
    ``deadline``, else ``None``: closed for the whole search, never dialled."""
    if provider.opening_hours is None:
        return now
    opens = provider.opening_hours.next_opening(now, timezone)
    if opens is None or opens >= deadline:
        return None
    return opens


def retry_time(provider: Provider, earliest: datetime, deadline: datetime, timezone: str) -> datetime | None:
    """When to try a provider again from ``earliest`` on (at its next opening if closed then), or ``None``
    when that is not before ``deadline``."""
    if earliest >= deadline:
        return None
    return first_call_time(provider, earliest, deadline, timezone)


def retry_call_id(call_id: str) -> str:
    """The id of the one retry of ``call_id``: fixed, so two processes scheduling it store one call."""
    return hashlib.sha256(f"{call_id}:retry".encode()).hexdigest()[:32]
