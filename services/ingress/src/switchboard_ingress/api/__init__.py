"""Ingress HTTP entrypoints."""
