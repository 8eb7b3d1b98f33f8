"""switchboard_registry."""
