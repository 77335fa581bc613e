"""The aiohttp server that answers the voice agents' tool calls, webhooks and health checks."""
