"""Intent parsing: from a person's words to a ``ParsedRequest``.

``OfflineIntentParser`` (rules plus dateparser, no network) and ``OpenAIIntentParser``
(``integrations.intent.openai_parser``, structured outputs, falling back to the offline parser).
The service vocabulary lives in ``integrations.intent.vocabulary``, the time conventions in
``integrations.intent.windows`` (its rules in ``_days``, ``_clock`` and ``_parts``), typo and shorthand
handling in ``_spelling`` and ``_fuzzy``, and the questions asked instead of guesses in ``_doubts``.
"""

from integrations.intent.offline import OfflineIntentParser, parse_request
from integrations.intent.vocabulary import DEFAULT_DURATION_MINUTES, SERVICE_SYNONYMS

__all__ = ["DEFAULT_DURATION_MINUTES", "SERVICE_SYNONYMS", "OfflineIntentParser", "parse_request"]
