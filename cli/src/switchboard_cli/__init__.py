"""The ``switchboard`` command line: Switchboard's public HTTP APIs (registry, ingress) from a shell, and
``switchboard listen``, a local inbox that verifies and prints each webhook delivery.

It talks HTTP only (httpx), so it works against any installation; it imports ``switchboard_contracts.signing``
for signature verification, never Kafka or MongoDB.
"""
