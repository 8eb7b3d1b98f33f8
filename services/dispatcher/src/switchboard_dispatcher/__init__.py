"""switchboard_dispatcher."""
