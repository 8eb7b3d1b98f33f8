"""Generic partners (seeds 002 and 003): a partner's own bridge, or a ticket tool.

They have no native webhook format: they post seed 002's messages to ingress ``POST /api/webhook/incoming`` with
their ``bearer_token``, or seed 003's tickets to ``POST /api/webhooks/receive`` signed with ``webhook_secret``
(``X-Webhook-Signature``, hex HMAC-SHA256 of the body), and get replies at seed 002's ``outgoing_webhook_url``,
signed with the same secret. Those endpoints and payloads belong to ingress and the dispatcher.
"""

from __future__ import annotations

from switchboard_contracts.partners.base import CredentialField, Partner

PARTNER = Partner(
    name="generic",
    title="generic partners",
    verification=(
        CredentialField(
            "webhook_secret",
            "the seed 003 secret for X-Webhook-Signature (hex HMAC-SHA256 of the body), inbound and outbound.",
            secret=True,
            min_length=16,
            max_length=1024,
        ),
    ),
    examples=(
        {
            "name": "Ticket tool (seed 003)",
            "provider": "generic",
            "outgoing_webhook_url": "https://tickets.acme.com/hooks/switchboard",
            "verification": {
                "webhook_secret": "whsec_3f9d1c7b2a6e4d8f",
                "bearer_token": "your_webhook_secret",
            },
            "events": ["ticket.created", "ticket.resolved", "ai.response.generated"],
        },
    ),
)
