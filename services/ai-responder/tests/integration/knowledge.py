"""A small help center for tests: each article answers questions the others do not."""

from __future__ import annotations

from typing import Any

import httpx

ARTICLES: list[dict[str, Any]] = [
    {
        "title": "Resetting your password",
        "body": "If you forgot your password, open the sign-in page and choose 'Forgot password'. We email you a "
        "reset link that is valid for 30 minutes. Follow the link and pick a new password of at least 12 "
        "characters.\n\nIf the email does not arrive, check your spam folder or ask your workspace admin to "
        "resend the invitation.",
        "link": "https://help.acme.test/account/password-reset",
        "tags": ["account", "login"],
    },
    {
        "title": "Refunds and cancellations",
        "body": "You can cancel your subscription at any time from Billing > Plan. Annual plans cancelled within 14 "
        "days of purchase are refunded in full. Refunds reach your card within 5 to 10 business days.",
        "link": "https://help.acme.test/billing/refunds",
        "tags": ["billing"],
    },
    {
        "title": "Shipping times and tracking",
        "body": "Orders ship within 2 business days from our warehouse. Standard delivery takes 3 to 5 days; "
        "express delivery arrives the next day. Every order gets a tracking number by email once it ships.",
        "link": "https://help.acme.test/orders/shipping",
        "tags": ["orders", "delivery"],
    },
    {
        "title": "Exporting your data",
        "body": "Admins can export all workspace data as CSV or JSON from Settings > Data > Export. Large exports "
        "are prepared in the background and a download link is emailed when ready.",
        "link": "https://help.acme.test/data/export",
        "tags": ["data", "admin"],
    },
]


async def seed(api: httpx.AsyncClient) -> dict[str, str]:
    """Add the articles through the API; title → id."""
    ids = {}
    for article in ARTICLES:
        response = await api.post("/articles", json=article)
        assert response.status_code == 201, response.text
        ids[article["title"]] = response.json()["data"]["id"]
    return ids
