"""Test support shared by every package's tests: infrastructure fixtures and event builders.

Imported only by tests (pytest is a dev dependency); services never import it.
"""
