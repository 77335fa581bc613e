"""The offline twin of a phone campaign: simulated receptionists, and our reference negotiating agent that
talks to the real tool endpoints over HTTP exactly as a live voice agent would."""
