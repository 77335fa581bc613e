"""Adapters for Google services: Calendar (with its OAuth connection) and Places."""
