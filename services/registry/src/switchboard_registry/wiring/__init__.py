"""Feature wiring: each module's ``install(ctx)`` builds a registry feature (see features.py)."""
