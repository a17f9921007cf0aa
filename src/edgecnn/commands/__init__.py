"""One module per CLI sub-command; each parses arguments and calls the library."""
