"""Adapters for outside services and their offline twins."""
