"""The pure core of NEXUS: what a campaign is, how calls and offers move, how slots are scored.

Standard library only. Ports (``domain.ports``) say what the use cases (``domain.services``) need from the
outside world; adapters elsewhere fulfil them.
"""
