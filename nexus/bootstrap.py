"""The one composition root: settings in, a running NEXUS out. Every entry point and test goes through here.

``bootstrap(settings, **overrides)`` chooses every concrete adapter for the mode (production defaults),
lets a caller replace any of them, opens what needs opening and closes it all on the way out::

    async with bootstrap(settings) as nexus:
        app = nexus.create_web_app()
        async with nexus.serving(app, "127.0.0.1", 8000) as base_url:
            ...
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.background import BackgroundTasks
from domain.errors import DependencyUnavailable
from domain.models import CallPurpose, GeoPoint
from domain.ports import (
    Calendar,
    CallSlots,
    Clock,
    Geocoder,
    HoldStore,
    IntentParser,
    Notifier,
    ProviderDirectory,
    UnitOfWorkFactory,
    VoiceGateway,
)
from domain.practices import CallBudget, FactTtl
from domain.services.context import Policy, Ports
from domain.services.reconcile import ConversationFetcher
from domain.services.recovery import RecoveryReport, recover_open_calls
from integrations.clock import SystemClock
from integrations.directory import BundledDirectory, GazetteerGeocoder
from integrations.intent.offline import OfflineIntentParser
from integrations.offline_calendar import StaticCalendar
from integrations.simulation.gateway import SimulatedVoiceGateway
from nexus.failures import database_unreachable, is_database_error, port_taken, sqlite_cannot_open
from nexus.notifications import LIVE_VIEW_INTERVAL, Dispatcher, NotificationHub
from nexus.scheduler import Scheduler
from nexus.settings import Mode, Settings, SettingsError
from storage.engine import create_engine
from storage.holds import InMemoryHoldStore, RedisHoldStore
from storage.locks import exclusively
from storage.schema import check_current
from storage.slots import InMemoryCallSlots, RedisCallSlots
from storage.stats import read_state
from storage.uow import make_uow_factory
from tools_server.app import create_app
from tools_server.keys import ReadinessCheck
from tools_server.metrics import Metrics, StateReader

log = logging.getLogger(__name__)

# PostgreSQL connections the outbox dispatchers of one process share, besides DATABASE_POOL_SIZE.
OUTBOX_POOL_SIZE = 3

WebRoutes = Callable[[web.Application], None]


@dataclass
class Nexus:
    """Everything one NEXUS process runs on."""

    settings: Settings
    ports: Ports
    outbox_uow: UnitOfWorkFactory  # what dispatchers and their sinks read and write through
    intent: IntentParser
    geocoder: Geocoder
    notifications: NotificationHub
    tool_secret: str
    readiness: dict[str, ReadinessCheck]
    web_routes: list[WebRoutes] = field(default_factory=list)
    _scheduler: Scheduler | None = None
    _on_serving: list[Callable[[str], None]] = field(default_factory=list)
    _reconcile_fetch: ConversationFetcher | None = None
    _before_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # /disconnect_calendar: forget the link and revoke the access at Google (set when Google Calendar is set up).
    calendar_disconnect: Callable[[int], Awaitable[bool]] | None = None
    _engine: AsyncEngine | None = None
    _recovery_enabled: bool = False
    # What /metrics reads from the database at scrape time.
    _read_state: StateReader | None = None
    _dispatchers: list[Dispatcher] = field(default_factory=list)

    def create_web_app(self) -> web.Application:
        """The tool server, with every extra route registered through ``web_routes``."""
        app = create_app(
            self.ports, self.tool_secret, self.readiness, self.settings.max_body_bytes, metrics=self.metrics()
        )
        for add_routes in self.web_routes:
            add_routes(app)
        return app

    @asynccontextmanager
    async def serving(self, app: web.Application, host: str, port: int, reuse_port: bool = False) -> AsyncIterator[str]:
        """Serve ``app`` on ``host:port`` (0 picks a free port); yields the base URL it listens on.

        ``reuse_port`` (``SO_REUSEPORT``) lets several NEXUS processes listen on the same port; the kernel
        spreads new connections over them.
        """
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
            try:
                await site.start()
            except OSError as exc:
                raise port_taken(host, port, exc) from exc
            bound = runner.addresses[0]
            base_url = f"http://{bound[0]}:{bound[1]}"
            for listener in self._on_serving:
                listener(base_url)
            yield base_url
        finally:
            # Simulated calls talk to this server: stop them before it goes, not halfway through a request.
            for stop in self._before_stop:
                await stop()
            await runner.cleanup()

    def metrics(self) -> Metrics:
        """The measurements of one web app; the numbers about the whole deployment come from the database."""
        return Metrics(read_state=self._read_state, slots_held=self.ports.slots.in_use, clock=self.ports.clock.now)

    def start_scheduler(self) -> None:
        """Run recovery, the sweep and the reminders now and every ``SWEEP_INTERVAL_SECONDS`` in this process."""
        if self._scheduler is None:
            self._scheduler = Scheduler(
                self.ports, self.settings.sweep_interval_seconds, self._reconcile_fetch, self.recover
            )
            self._scheduler.start()

    async def recover(self) -> RecoveryReport | None:
        """End or re-adopt the open calls of processes that died, in one process at a time; ``None`` when
        another process is at it, or when this one cannot tell whose calls are whose (several processes on
        PostgreSQL without Redis: each keeps its call slots to itself)."""
        if not self._recovery_enabled or self._engine is None:
            return None
        async with exclusively(self._engine, "nexus-recovery") as mine:
            if not mine:
                return None
            grace = timedelta(seconds=self.settings.call_slot_lease_seconds)
            return await recover_open_calls(self.ports, self._reconcile_fetch, grace)

    def start_dispatcher(
        self,
        sink: Notifier,
        users: Collection[int] | None = None,
        live_view_interval: timedelta = LIVE_VIEW_INTERVAL,
        drop_superseded: bool = False,
    ) -> Dispatcher:
        """Deliver the outbox's messages (to ``users`` only, when given) to ``sink`` from this process,
        woken at once by every commit here that queues one; stopped when NEXUS closes (or by
        ``stop_dispatcher``). Only a process that can reach those users may start one."""
        dispatcher = Dispatcher(
            self.outbox_uow,
            sink,
            users=users,
            max_attempts=self.settings.outbox_max_attempts,
            live_view_interval=live_view_interval,
            drop_superseded=drop_superseded,
        )
        self._dispatchers.append(dispatcher)
        dispatcher.start()
        return dispatcher

    async def stop_dispatcher(self, dispatcher: Dispatcher) -> None:
        if dispatcher in self._dispatchers:
            self._dispatchers.remove(dispatcher)
        await dispatcher.stop()

    async def stop_dispatchers(self) -> None:
        for dispatcher in list(self._dispatchers):
            await self.stop_dispatcher(dispatcher)

    async def deliver_outbox(self) -> None:
        """Deliver what is due now through this process's dispatchers (a simulation's last live view)."""
        for dispatcher in list(self._dispatchers):
            await dispatcher.deliver_due()

    def nudge_dispatchers(self) -> None:
        for dispatcher in self._dispatchers:
            dispatcher.nudge()

    async def stop_scheduler(self) -> None:
        if self._scheduler is not None:
            await self._scheduler.stop()
            self._scheduler = None


def policy_from(settings: Settings) -> Policy:
    return Policy(
        hold_ttl=timedelta(seconds=settings.hold_ttl_seconds),
        buffer=timedelta(minutes=settings.buffer_minutes),
        call_timeout=timedelta(seconds=settings.call_timeout_seconds),
        campaign_deadline=timedelta(minutes=settings.campaign_deadline_minutes),
        campaigns_per_hour=settings.campaigns_per_hour,
        calls_per_campaign=settings.calls_per_campaign,
        voicemail_retry_after=timedelta(minutes=settings.voicemail_retry_minutes),
        voicemail_retries=settings.voicemail_retries,
        call_cost_per_minute=settings.call_cost_per_minute,
        call_cost_currency=settings.call_cost_currency,
        call_minutes_per_month=settings.call_minutes_per_month or None,
        ask_user_wait=timedelta(seconds=settings.ask_user_wait_seconds),
        ask_user_poll=timedelta(seconds=settings.ask_user_poll_seconds),
        fan_out=settings.fan_out,
        fan_out_wave=settings.fan_out_wave,
        transcript_retention=timedelta(days=settings.transcript_retention_days),
        follow_up_rounds=settings.follow_up_rounds,
        call_budget=CallBudget(
            per_day=settings.provider_calls_per_day, min_gap=timedelta(minutes=settings.provider_call_gap_minutes)
        ),
        fact_ttl=FactTtl(
            no_slots=timedelta(minutes=settings.knowledge_no_slots_minutes),
            opening_hours=timedelta(hours=settings.knowledge_opening_hours_hours),
            call_back=timedelta(hours=settings.knowledge_call_back_hours),
        ),
    )


@asynccontextmanager
async def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    voice: VoiceGateway | None = None,
    directory: ProviderDirectory | None = None,
    calendar: Calendar | None = None,
    geocoder: Geocoder | None = None,
    intent: IntentParser | None = None,
    holds: HoldStore | None = None,
    slots: CallSlots | None = None,
    policy: Policy | None = None,
    check_schema: bool = True,
) -> AsyncIterator[Nexus]:
    """Open a NEXUS for ``settings``; every keyword replaces the adapter the mode would choose."""
    settings.validate_for_mode()
    clock = clock or SystemClock()
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.database_url, **_pool_options(settings))
        stack.push_async_callback(engine.dispose)
        if check_schema:
            await _check_database(engine, settings.database_url)
        nudges: list[Callable[[], None]] = []

        def queued() -> None:
            for nudge in nudges:
                nudge()

        uow = make_uow_factory(engine, on_queued=queued)
        outbox_uow = uow
        if not settings.is_sqlite:
            # Messages go out over connections of their own: a burst of tool requests queueing for the
            # pool never holds them back, nor they the tool requests. (SQLite has one writer anyway.)
            outbox_engine = create_engine(settings.database_url, **_pool_options(settings, OUTBOX_POOL_SIZE))
            stack.push_async_callback(outbox_engine.dispose)
            outbox_uow = make_uow_factory(outbox_engine)

        redis_client = _redis_client(settings, stack)
        if holds is None:
            holds = (
                RedisHoldStore(redis_client, prefix=f"{settings.redis_key_prefix}:holds")
                if redis_client is not None
                else InMemoryHoldStore()
            )
        if slots is None:
            slots = _call_slots(settings, redis_client)
        if isinstance(slots, RedisCallSlots):
            stack.push_async_callback(slots.aclose)
        http = await stack.enter_async_context(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)))
        notifications = NotificationHub()
        tool_secret = settings.tools_shared_secret.get_secret_value()
        if not tool_secret and settings.nexus_mode is Mode.MOCK_AI:
            tool_secret = secrets.token_urlsafe(32)  # offline: the simulated agents are ours, any secret works

        live = settings.nexus_mode is not Mode.MOCK_AI
        on_serving: list[Callable[[str], None]] = []
        if directory is None:
            directory = _live_directory(settings, http) if live else BundledDirectory()
        if geocoder is None:
            geocoder = _geocoder(settings, http, live)
        if calendar is None:
            calendar = _calendar(settings, uow, clock, live)
        if intent is None:
            intent = _intent(settings, stack)
        reconcile_fetch: ConversationFetcher | None = None
        if voice is None:
            if live:
                voice, reconcile_fetch = await _live_voice(settings, stack)
            else:
                voice = SimulatedVoiceGateway()

        # Work the use cases start without waiting (an adaptive fan-out's next wave), given a moment at shutdown.
        started = BackgroundTasks()
        ports = Ports(
            uow=uow,
            holds=holds,
            calendar=calendar,
            directory=directory,
            voice=voice,
            clock=clock,
            slots=slots,
            geocoder=geocoder,
            policy=policy or policy_from(settings),
            background=started.start,
        )
        if isinstance(voice, SimulatedVoiceGateway):
            voice.bind(ports, tool_secret)
            on_serving.append(voice.set_tools_url)
            stack.push_async_callback(voice.aclose)
        stack.push_async_callback(started.aclose)  # before the gateway and the database close

        async def database_ready() -> None:
            await check_current(engine)

        nexus = Nexus(
            settings=settings,
            ports=ports,
            outbox_uow=outbox_uow,
            intent=intent,
            geocoder=geocoder,
            notifications=notifications,
            tool_secret=tool_secret,
            readiness={"database": database_ready, "holds": holds.ping},
            _on_serving=on_serving,
            _reconcile_fetch=reconcile_fetch,
            _before_stop=[voice.aclose] if isinstance(voice, SimulatedVoiceGateway) else [],
            _engine=engine,
            # Whose calls are whose is known when the call slots are shared (Redis) or there is one process.
            _recovery_enabled=isinstance(slots, RedisCallSlots) or settings.is_sqlite,
            _read_state=lambda: read_state(engine),
        )
        nudges.append(nexus.nudge_dispatchers)
        _add_live_routes(nexus, http)
        try:
            yield nexus
        finally:
            await nexus.stop_scheduler()
            await nexus.stop_dispatchers()


def _add_live_routes(nexus: Nexus, http: aiohttp.ClientSession) -> None:
    """The ElevenLabs webhook and the Google Calendar OAuth routes, each when its settings are there."""
    from tools_server.oauth_routes import add_oauth_routes, calendar_connect_configured, calendar_disconnector
    from tools_server.webhooks import add_webhook_route

    settings = nexus.settings
    if settings.elevenlabs_webhook_secret and (secret := settings.elevenlabs_webhook_secret.get_secret_value()):
        nexus.web_routes.append(lambda app: add_webhook_route(app, secret))
    if calendar_connect_configured(settings):
        nexus.web_routes.append(lambda app: add_oauth_routes(app, settings, http))
        nexus.calendar_disconnect = calendar_disconnector(settings, nexus.ports.uow, http)


async def _check_database(engine: AsyncEngine, url: str) -> None:
    """The schema is current, or one sentence says why not (behind, ahead, unreachable, not writable)."""
    if failure := sqlite_cannot_open(url):
        raise failure
    try:
        await check_current(engine)
    except Exception as exc:
        if is_database_error(exc):
            raise database_unreachable(url, exc) from exc
        raise


def _pool_options(settings: Settings, size: int | None = None) -> dict[str, float]:
    """A fixed pool on PostgreSQL: requests queue for a connection in order instead of overflowing, and
    wait up to ``DATABASE_POOL_TIMEOUT_SECONDS`` for one before the database counts as busy."""
    if settings.is_sqlite:
        return {}
    return {
        "pool_size": size or settings.database_pool_size,
        "max_overflow": 0,
        "pool_timeout": settings.database_pool_timeout_seconds,
    }


def _redis_client(settings: Settings, stack: AsyncExitStack) -> Redis | None:
    """One Redis client for the hold store and the call slots, when ``REDIS_URL`` is set."""
    if not settings.redis_url:
        return None
    import redis.asyncio as redis

    client = redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    stack.push_async_callback(client.aclose)
    return client


def _call_slots(settings: Settings, client: Redis | None) -> CallSlots:
    """The voice provider's limit, shared by every process through Redis, else held by this process."""
    if client is None:
        return InMemoryCallSlots(settings.max_concurrent_calls)
    return RedisCallSlots(
        client,
        settings.max_concurrent_calls,
        prefix=f"{settings.redis_key_prefix}:calls",
        lease_seconds=settings.call_slot_lease_seconds,
    )


def _live_directory(settings: Settings, http: aiohttp.ClientSession) -> ProviderDirectory:
    if settings.google_maps_api_key is None:
        if settings.nexus_mode is Mode.LIVE:
            raise SettingsError("NEXUS_MODE=live needs GOOGLE_MAPS_API_KEY to find real providers.")
        return BundledDirectory()  # mock_human: every call goes to TARGET_PHONE_NUMBER anyway
    from integrations.google.places import GooglePlacesDirectory

    return GooglePlacesDirectory(http, settings.google_maps_api_key.get_secret_value())


class _FallbackGeocoder:
    """Ask the first geocoder; when it knows nothing or fails, ask the next."""

    def __init__(self, *geocoders: Geocoder) -> None:
        self._geocoders = geocoders

    async def geocode(self, text: str, near: GeoPoint | None = None) -> GeoPoint | None:
        for geocoder in self._geocoders:
            try:
                found = await geocoder.geocode(text, near)
            except DependencyUnavailable as exc:
                log.warning("geocoder %s failed: %s", type(geocoder).__name__, exc)
                continue
            if found is not None:
                return found
        return None


def _geocoder(settings: Settings, http: aiohttp.ClientSession, live: bool) -> Geocoder:
    gazetteer = GazetteerGeocoder()
    if not live or settings.google_maps_api_key is None:
        return gazetteer
    from integrations.google.places import GoogleGeocoder

    return _FallbackGeocoder(gazetteer, GoogleGeocoder(http, settings.google_maps_api_key.get_secret_value()))


def _calendar(settings: Settings, uow: UnitOfWorkFactory, clock: Clock, live: bool) -> Calendar:
    if not (live and settings.google_client_id and settings.google_client_secret and settings.encryption_key):
        return StaticCalendar()
    from integrations.crypto import TokenCipher
    from integrations.google.calendar import GoogleCalendar, LinkedServiceFactory

    try:
        cipher = TokenCipher(settings.encryption_key.get_secret_value())
    except ValueError as exc:
        raise SettingsError(str(exc)) from exc
    factory = LinkedServiceFactory(
        uow, cipher, settings.google_client_id, settings.google_client_secret.get_secret_value()
    )
    return GoogleCalendar(factory, clock)


def _intent(settings: Settings, stack: AsyncExitStack) -> IntentParser:
    offline = OfflineIntentParser()
    if settings.openai_api_key is None:
        return offline
    import openai

    from integrations.intent.openai_parser import OpenAIIntentParser

    client = openai.AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(), base_url=settings.openai_base_url, max_retries=0
    )
    stack.push_async_callback(client.close)
    return OpenAIIntentParser(client, settings.openai_model, offline, settings.openai_timeout_seconds)


async def _live_voice(settings: Settings, stack: AsyncExitStack) -> tuple[VoiceGateway, ConversationFetcher]:
    """The ElevenLabs gateway, and the way the sweep asks ElevenLabs about calls that went quiet."""
    from integrations.elevenlabs import DiallingPolicy, ElevenLabsVoiceGateway, make_elevenlabs_client
    from integrations.elevenlabs.agents import conversation_fetcher
    from integrations.elevenlabs.gateway import parse_expert_agent_ids
    from integrations.twilio_calls import TwilioCallControl

    assert settings.elevenlabs_api_key is not None and settings.twilio_auth_token is not None  # validated
    try:
        dialling = (
            DiallingPolicy.mock_human(settings.target_phone_number or "")
            if settings.nexus_mode is Mode.MOCK_HUMAN
            else DiallingPolicy.live()
        )
    except ValueError as exc:
        raise SettingsError(str(exc)) from exc
    import httpx

    http = httpx.AsyncClient(timeout=httpx.Timeout(20.0))
    stack.push_async_callback(http.aclose)  # the SDK's connection pool closes with NEXUS
    client = make_elevenlabs_client(
        settings.elevenlabs_api_key.get_secret_value(), settings.elevenlabs_base_url, http_client=http
    )
    agent_ids = {
        purpose: agent
        for purpose, agent in (
            (CallPurpose.DISCOVER, settings.elevenlabs_agent_id_discover),
            (CallPurpose.CONFIRM, settings.elevenlabs_agent_id_confirm),
            (CallPurpose.CANCEL, settings.elevenlabs_agent_id_cancel),
            (CallPurpose.RESCHEDULE, settings.elevenlabs_agent_id_reschedule),
        )
        if agent
    }
    try:
        experts = parse_expert_agent_ids(settings.elevenlabs_expert_agent_ids)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    gateway = ElevenLabsVoiceGateway(
        client,
        agent_ids=agent_ids,
        agent_phone_number_id=settings.elevenlabs_agent_phone_number_id or "",
        dialling=dialling,
        call_control=TwilioCallControl(
            settings.twilio_account_sid or "", settings.twilio_auth_token.get_secret_value()
        ),
        ring_timeout_seconds=settings.ring_timeout_seconds,
        expert_agent_ids=experts,
    )
    return gateway, conversation_fetcher(client)
