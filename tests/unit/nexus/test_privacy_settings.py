"""The privacy settings reach what `nexus elevenlabs sync` sends: no audio recording unless RECORD_CALL_AUDIO,
transcripts kept TRANSCRIPT_RETENTION_DAYS on the voice platform and in NEXUS alike."""

from __future__ import annotations

import argparse
from datetime import timedelta

from nexus.bootstrap import policy_from
from nexus.commands.elevenlabs import _options
from nexus.settings import Settings

ARGS = argparse.Namespace(language="de", llm=None, voice_id=None)


def test_sync_records_no_audio_and_keeps_transcripts_thirty_days_by_default() -> None:
    options = _options(ARGS, Settings(_env_file=None))

    assert (options.record_voice, options.retention_days) == (False, 30)


def test_sync_and_the_retention_job_follow_the_settings() -> None:
    settings = Settings(_env_file=None, transcript_retention_days=7, record_call_audio=True)

    options = _options(ARGS, settings)

    assert (options.record_voice, options.retention_days) == (True, 7)
    assert policy_from(settings).transcript_retention == timedelta(days=7)
