"""Registry adapters: MongoDB repositories."""
