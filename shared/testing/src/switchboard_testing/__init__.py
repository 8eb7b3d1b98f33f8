"""Test support shared by every package's tests: infrastructure fixtures and event builders.

Imported only by tests (its own dependencies: pytest, testcontainers, aiohttp); services never import it.
"""
