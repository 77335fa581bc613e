"""Use cases: what NEXUS does, as plain async functions over the ports in ``domain.ports``.

- ``campaigns``: start a campaign, dial its calls, settle it when the calls end, cancel it.
- ``tool_calls``: what a voice agent may do during a call (check, report, book, end, distance).
- ``confirmation``: the user picks an offer; a confirmation call books it.
- ``appointments``: cancel a booking, send reminders.
- ``sweeps``: the periodic clean-up that keeps every campaign moving.
"""
