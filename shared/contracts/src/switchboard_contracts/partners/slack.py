"""Slack incoming webhooks (platforms.md §5): outbound notifications only.

A Slack integration is a URL the dispatcher posts seed 003's ticket and AI-review notifications to (its payload
shape lives with the dispatcher's other payloads). Nothing comes in, so there is no verification and no bearer
token, and the URL is the credential: it is the secret ``reply.webhook_url``, not seed 002's outgoing webhook.
"""

from __future__ import annotations

from switchboard_contracts.events import SLACK_DEFAULT_EVENTS
from switchboard_contracts.partners.base import CredentialField, Partner

PARTNER = Partner(
    name="slack",
    title="Slack",
    reply=(
        CredentialField(
            "webhook_url",
            "the incoming-webhook URL (https://hooks.slack.com/services/…). The URL is the credential, so it is "
            "write-only.",
            secret=True,
            required=True,
            url=True,
            max_length=2048,
        ),
        CredentialField("channel", "the channel, for display", max_length=80),
    ),
    bearer=False,
    outgoing_webhook=False,
    reply_required=True,
    default_events=SLACK_DEFAULT_EVENTS,
    examples=(
        {
            "name": "Support alerts in Slack",
            "provider": "slack",
            "reply": {
                "webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX",
                "channel": "#support",
            },
            "events": ["ticket.escalated", "ai.response.requires_review"],
        },
    ),
)
