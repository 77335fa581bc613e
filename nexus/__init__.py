"""NEXUS composition root: settings, bootstrap, command line, scheduled jobs."""
