"""One module per schema revision, in order; never edit a revision that has been released."""
