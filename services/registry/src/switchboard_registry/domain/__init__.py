"""Registry domain: pure rules (ids, keys, scopes, validation) with no I/O."""
