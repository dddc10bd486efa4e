"""Use cases of the benefits service: commands from HTTP and reactions to other services' events."""
