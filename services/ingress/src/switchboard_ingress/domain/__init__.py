"""Ingress domain: parsing inbound requests into CloudEvents (no I/O)."""
