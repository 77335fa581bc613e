"""Sub-commands of the ``nexus`` command line, one module each (see ``nexus.cli``)."""
