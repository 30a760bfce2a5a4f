"""The `federation` connector: a peer's published range, reached through the peer's federation API."""
