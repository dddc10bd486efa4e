"""The HTTP API of the benefits service."""
