"""The live voice gateway: ElevenLabs voice agents phone providers over ElevenLabs' Twilio integration.

One agent per call purpose (discover, confirm, cancel). Each call carries its facts as dynamic variables; the
plain call token travels as the secret variable ``secret__call_token``, which the agent's webhook tools send
back in the ``X-Nexus-Call-Token`` header, so our tool endpoints know which call is asking.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx
from elevenlabs import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.core.parse_error import ParsingError
from elevenlabs.core.request_options import RequestOptions
from elevenlabs.types import (
    AgentConfigOverrideInput,
    ConversationConfigClientOverrideInput,
    ConversationInitiationClientDataRequestInput,
    TelephonyCallConfigInput,
)

from domain.errors import DependencyUnavailable, InvalidRequest
from domain.expertise import answers_in_words, expert_agent_key
from domain.models import CallPurpose, CallTask, Provider, is_e164
from domain.ports import CallRequest, PlacedCall
from domain.wording import slot_in_words, windows_in_words
from integrations.elevenlabs.languages import fill, first_message, spoken_language, voicemail_message
from integrations.elevenlabs.webhooks import CALL_TOKEN_VARIABLE

log = logging.getLogger(__name__)

CALL_TOKEN_HEADER = "X-Nexus-Call-Token"  # noqa: S105 - a header name, not a secret

_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ()./-]{4,}[0-9]")
_PURPOSE_WORDS = {
    CallPurpose.DISCOVER: "discovery",
    CallPurpose.CONFIRM: "booking",
    CallPurpose.CANCEL: "cancellation",
    CallPurpose.RESCHEDULE: "reschedule",
}


def mask_phone(number: str) -> str:
    """A phone number fit for logs: only its last three digits show."""
    digits = re.sub(r"[^0-9]", "", number)
    return "***" + digits[-3:] if len(digits) > 3 else "***"


def _redact_numbers(text: str) -> str:
    return _PHONE_LIKE.sub(lambda match: mask_phone(match.group()), text)


@dataclass(frozen=True, slots=True)
class DiallingPolicy:
    """Whose phone actually rings: in ``mock_human`` mode always ``target_phone_number`` (a person playing
    every provider), in ``live`` mode the provider's own number from the provider directory."""

    target_phone_number: str | None = None

    def __post_init__(self) -> None:
        if self.target_phone_number is not None and not is_e164(self.target_phone_number):
            raise ValueError(
                "TARGET_PHONE_NUMBER must be an international number such as +4930901820; "
                f"the one set (ending {mask_phone(self.target_phone_number)}) is not."
            )

    @classmethod
    def live(cls) -> DiallingPolicy:
        return cls()

    @classmethod
    def mock_human(cls, target_phone_number: str | None) -> DiallingPolicy:
        if not target_phone_number:
            raise ValueError("NEXUS_MODE=mock_human needs TARGET_PHONE_NUMBER, the phone that takes every call.")
        return cls(target_phone_number)

    def number_for(self, provider: Provider) -> str:
        """The number to dial for ``provider``; raises ``DependencyUnavailable`` for one that cannot be dialled."""
        if self.target_phone_number is not None:
            return self.target_phone_number
        if not is_e164(provider.phone):
            raise DependencyUnavailable(f"The phone number listed for {provider.name} cannot be dialled.")
        return provider.phone


def parse_expert_agent_ids(text: str) -> dict[str, str]:
    """``ELEVENLABS_EXPERT_AGENT_IDS`` (``dentist/de=agent_x,dentist/en=agent_y``) as a mapping; ``ValueError``
    names an entry that is not ``service/language=id``."""
    found: dict[str, str] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        key, _, agent = entry.partition("=")
        service, _, language = key.strip().partition("/")
        if not agent.strip() or not service.strip() or language.strip() not in ("en", "de"):
            raise ValueError(f"ELEVENLABS_EXPERT_AGENT_IDS: {entry!r} is not service/language=agent id.")
        found[f"{service.strip()}/{language.strip()}"] = agent.strip()
    return found


class CallControl(Protocol):
    """Stops a running phone call by its telephony id (``integrations.twilio_calls.TwilioCallControl``)."""

    async def hang_up(self, call_sid: str) -> None: ...


def dynamic_variables(request: CallRequest) -> dict[str, str | int]:
    """What the agent knows about the call; the agent prompts refer to these names.

    ``provider_name``, ``service``, ``windows`` (the user's free time in words), ``duration_minutes``,
    ``target_slot`` (the slot to book or cancel, in words; empty when discovering), ``language``,
    ``client_answers`` (the user's answers to the expert's questions, in words; empty without any),
    ``voicemail_message`` (what ``leave_voicemail`` says, in the call's language) and the secret
    ``secret__call_token``. Times are in the campaign's timezone and language.
    """
    campaign, call = request.campaign, request.call
    if call.purpose is not CallPurpose.DISCOVER and request.target_slot is None:
        raise InvalidRequest(f"A {_PURPOSE_WORDS[call.purpose]} call needs the slot it is about.")
    windows = campaign.windows
    variables: dict[str, str | int] = {
        "provider_name": call.provider.name,
        "service": campaign.service,
        "windows": windows_in_words(windows, campaign.timezone, campaign.language, limit=len(windows)),
        "duration_minutes": campaign.duration_minutes,
        "target_slot": (
            slot_in_words(request.target_slot, campaign.timezone, campaign.language) if request.target_slot else ""
        ),
        "language": spoken_language(campaign.language),
        "client_answers": answers_in_words(campaign.service, campaign.answers, campaign.language),
    }
    # A variable's value is not searched for variables again, so this message is filled in here.
    variables["voicemail_message"] = fill(voicemail_message(call.purpose, campaign.language), variables)
    variables[CALL_TOKEN_VARIABLE] = request.token
    if call.purpose is CallPurpose.DISCOVER:
        variables["handover_phone"] = ""  # filled by request_handover's answer when the user takes the call
    return variables


def client_data(request: CallRequest) -> ConversationInitiationClientDataRequestInput:
    """Everything a call sends the agent: its dynamic variables, and its language and first message as the
    conversation override (which ``nexus elevenlabs sync`` enables on the agents)."""
    language = spoken_language(request.campaign.language)
    return ConversationInitiationClientDataRequestInput(
        dynamic_variables=dynamic_variables(request),
        conversation_config_override=ConversationConfigClientOverrideInput(
            agent=AgentConfigOverrideInput(
                language=language, first_message=first_message(request.call.purpose, language)
            )
        ),
    )


class ElevenLabsVoiceGateway:
    """``VoiceGateway`` over ElevenLabs' outbound Twilio calls. How many run at once is bounded before a call
    gets here, by the call slots every NEXUS process shares (``domain.ports.CallSlots``)."""

    def __init__(
        self,
        client: AsyncElevenLabs,
        *,
        agent_ids: Mapping[CallPurpose, str],
        agent_phone_number_id: str,
        dialling: DiallingPolicy,
        call_control: CallControl,
        ring_timeout_seconds: int,
        request_timeout_seconds: int = 20,
        expert_agent_ids: Mapping[str, str] | None = None,
    ) -> None:
        if not agent_phone_number_id:
            raise ValueError("Placing calls needs ELEVENLABS_AGENT_PHONE_NUMBER_ID.")
        self._client = client
        self._agent_ids = {purpose: agent for purpose, agent in agent_ids.items() if agent}
        # Discovery calls of a service with an expert go to its expert agent in the campaign's language.
        self._expert_agent_ids = {key: agent for key, agent in (expert_agent_ids or {}).items() if agent}
        self._phone_number_id = agent_phone_number_id
        self._dialling = dialling
        self._call_control = call_control
        self._ring_timeout = ring_timeout_seconds
        # A retry could ring the same provider twice, so the SDK must never repeat this request.
        self._request_options = RequestOptions(timeout_in_seconds=request_timeout_seconds, max_retries=0)

    async def place_call(self, request: CallRequest) -> PlacedCall:
        call = request.call
        agent_id = self.agent_for(request)
        if agent_id is None:
            raise DependencyUnavailable(f"No ElevenLabs agent is set up for {_PURPOSE_WORDS[call.purpose]} calls.")
        to_number = self._dialling.number_for(call.provider)
        initiation = client_data(request)

        try:
            response = await self._client.conversational_ai.twilio.outbound_call(
                agent_id=agent_id,
                agent_phone_number_id=self._phone_number_id,
                to_number=to_number,
                conversation_initiation_client_data=initiation,
                telephony_call_config=TelephonyCallConfigInput(ringing_timeout_secs=self._ring_timeout),
                request_options=self._request_options,
            )
        except ApiError as exc:
            # The body is not logged: a validation error may echo the request, call token included.
            log.warning("ElevenLabs answered HTTP %s to call %s (%s)", exc.status_code, call.id, mask_phone(to_number))
            raise DependencyUnavailable("ElevenLabs did not accept the call.") from exc
        except (httpx.HTTPError, ParsingError) as exc:
            # After a timeout the call may ring anyway; the domain marks it failed, so its tool calls are refused.
            log.warning("could not reach ElevenLabs for call %s: %s", call.id, type(exc).__name__)
            raise DependencyUnavailable("ElevenLabs could not be reached to place the call.") from exc

        if not response.success:
            log.warning(
                "ElevenLabs did not place call %s (%s): %s",
                call.id,
                mask_phone(to_number),
                _redact_numbers(response.message)[:200],
            )
            raise DependencyUnavailable("ElevenLabs could not place the call.")
        log.info(
            "placed call %s to %s as conversation %s",
            call.id,
            mask_phone(to_number),
            response.conversation_id,
        )
        return PlacedCall(conversation_id=response.conversation_id, call_sid=response.call_sid)

    def agent_for(self, request: CallRequest) -> str | None:
        """The expert agent of the campaign's service and language for a discovery call, else the general
        agent of the call's purpose."""
        if request.call.purpose is CallPurpose.DISCOVER:
            key = expert_agent_key(request.campaign.service, request.campaign.language)
            expert = self._expert_agent_ids.get(key) if key else None
            if expert:
                return expert
        return self._agent_ids.get(request.call.purpose)

    async def hang_up(self, call: CallTask) -> None:
        if call.call_sid is None:
            return  # never connected to a phone, so there is nothing to stop
        await self._call_control.hang_up(call.call_sid)
