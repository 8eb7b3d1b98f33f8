"""Registry HTTP entrypoints."""
