"""``GET /metrics`` in the Prometheus text format, and the middleware that times every tool request.

What is measured:

- ``nexus_tool_request_seconds{tool, status}``: how long each tool endpoint took to answer, by HTTP status;
- ``nexus_calls_in_flight``, ``nexus_campaigns{status}``, ``nexus_outbox_backlog`` and
  ``nexus_outbox_delivery_lag_seconds``: read from the shared database at scrape time, so every replica
  reports the whole deployment (the outbox pair only once the outbox table exists);
- ``nexus_call_slots_held``: the calls this deployment's slot store counts as running (when one is given);
- ``nexus_dependency_errors_total{dependency, kind}``: voice, Telegram and Google failures, counted from the
  warnings their adapters log (``kind`` is the exception or HTTP status they name).

The route is served on the tool server's own port; the reverse proxy of ``compose.yaml`` does not pass
``/metrics`` on, so only the private network (a Prometheus next to NEXUS) reaches it.

Each application has its own registry, so several apps in one process (tests) never share counters.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from domain import log_context
from domain.models import CampaignStatus

log = logging.getLogger(__name__)

_TOOL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Which outside service a logger's warnings are about.
_DEPENDENCIES = (
    ("integrations.elevenlabs", "voice"),
    ("integrations.twilio_calls", "voice"),
    ("bot.telegram", "telegram"),
    ("telegram", "telegram"),
    ("integrations.google", "google"),
    ("tools_server.oauth_routes", "google"),
)
_EXCEPTION_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*(Error|Exception|Timeout|TimedOut|Refused)$")


class DeploymentState(Protocol):
    """What the database says about the deployment (``storage.stats.DeploymentState``)."""

    @property
    def calls_in_flight(self) -> int: ...
    @property
    def campaigns_by_status(self) -> dict[str, int]: ...
    @property
    def outbox_backlog(self) -> int | None: ...
    @property
    def oldest_undelivered_at(self) -> datetime | None: ...


StateReader = Callable[[], Awaitable[DeploymentState]]
SlotCounter = Callable[[], Awaitable[int]]
Clock = Callable[[], datetime]


class _StateCollector(Collector):
    """Reports the last state read; ``/metrics`` reads a fresh one just before rendering."""

    def __init__(self) -> None:
        self.state: DeploymentState | None = None
        self.slots_held: int | None = None
        self.now: datetime | None = None

    def collect(self) -> Iterator[Metric]:
        state = self.state
        if state is not None:
            yield GaugeMetricFamily("nexus_calls_in_flight", "Calls dialling or talking now.", state.calls_in_flight)
            campaigns = GaugeMetricFamily("nexus_campaigns", "Campaigns by status (outcome).", labels=["status"])
            for status in CampaignStatus:
                campaigns.add_metric([status.value], state.campaigns_by_status.get(status.value, 0))
            yield campaigns
            if state.outbox_backlog is not None:
                yield GaugeMetricFamily(
                    "nexus_outbox_backlog", "Messages to users not delivered yet.", state.outbox_backlog
                )
                lag = 0.0
                if state.oldest_undelivered_at is not None and self.now is not None:
                    lag = max(0.0, (self.now - state.oldest_undelivered_at).total_seconds())
                yield GaugeMetricFamily(
                    "nexus_outbox_delivery_lag_seconds", "Age of the oldest undelivered message to a user.", lag
                )
        if self.slots_held is not None:
            yield GaugeMetricFamily("nexus_call_slots_held", "Call slots held across processes.", self.slots_held)


class _DependencyErrors(logging.Handler):
    """Counts warnings of the voice, Telegram and Google adapters by dependency and kind."""

    def __init__(self, counter: Counter) -> None:
        super().__init__(logging.WARNING)
        self._counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        dependency = next((d for prefix, d in _DEPENDENCIES if _under(record.name, prefix)), None)
        if dependency is not None:
            self._counter.labels(dependency, _kind(record)).inc()


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _kind(record: logging.LogRecord) -> str:
    if record.exc_info and record.exc_info[0] is not None:
        return record.exc_info[0].__name__
    args = record.args if isinstance(record.args, tuple) else ()
    for arg in args:
        if isinstance(arg, BaseException):
            return type(arg).__name__
        if isinstance(arg, str) and _EXCEPTION_NAME.match(arg):
            return arg
    for arg in args:
        if isinstance(arg, int) and 400 <= arg <= 599:
            return f"http_{arg}"
    return "error"


class Metrics:
    """One application's registry, its instruments and where the database-backed numbers come from."""

    def __init__(
        self, read_state: StateReader | None = None, slots_held: SlotCounter | None = None, clock: Clock | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        self.tool_seconds = Histogram(
            "nexus_tool_request_seconds",
            "Time to answer a tool request, by tool and HTTP status.",
            ["tool", "status"],
            buckets=_TOOL_BUCKETS,
            registry=self.registry,
        )
        self.dependency_errors = Counter(
            "nexus_dependency_errors",
            "Failures of outside services (voice, telegram, google), by kind.",
            ["dependency", "kind"],
            registry=self.registry,
        )
        self._state = _StateCollector()
        self.registry.register(self._state)
        self._read_state = read_state
        self._slots_held = slots_held
        self._clock = clock
        self.log_handler = _DependencyErrors(self.dependency_errors)

    async def render(self) -> bytes:
        if self._read_state is not None:
            try:
                self._state.state = await self._read_state()
                self._state.now = self._clock() if self._clock else None
            except Exception as exc:  # a scrape reports what it can; the database's health is /ready's job
                log.warning("metrics could not read the database: %s", type(exc).__name__)
                self._state.state = None
        if self._slots_held is not None:
            try:
                self._state.slots_held = await self._slots_held()
            except Exception as exc:  # the slot store down (Redis) is /ready's to report, not a failed scrape
                log.warning("metrics could not count the call slots: %s", type(exc).__name__)
                self._state.slots_held = None
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def metrics_endpoint(request: web.Request) -> web.Response:
    """Every measurement, in the Prometheus text format."""
    body = await request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@web.middleware
async def timing_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Time tool requests by tool and status, and log one line for each with its campaign and call."""
    route = request.match_info.route.name
    if not request.path.startswith("/api/") or route is None:
        return await handler(request)
    tokens = log_context.cleared()
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        elapsed = time.perf_counter() - started
        request.app[METRICS].tool_seconds.labels(route, str(status)).observe(elapsed)
        log.info(
            "tool %s answered %s in %.0f ms",
            route,
            status,
            elapsed * 1000,
            extra={"tool": route, "status": status, "duration_ms": round(elapsed * 1000, 1)},
        )
        log_context.restore(tokens)


async def count_dependency_errors(app: web.Application) -> AsyncIterator[None]:
    """While the app runs, count the adapters' warnings (``cleanup_ctx``)."""
    handler = app[METRICS].log_handler
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
