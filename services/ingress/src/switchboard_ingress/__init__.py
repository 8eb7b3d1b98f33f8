"""switchboard_ingress."""
