"""The delivery log's routes in the OpenAPI document (built without infrastructure: nothing connects)."""

from __future__ import annotations

from switchboard_platform.settings import Environment
from switchboard_registry.main import create_app
from switchboard_registry.settings import RegistrySettings


def test_the_delivery_log_routes_are_documented_with_their_errors() -> None:
    document = create_app(RegistrySettings(environment=Environment.TEST)).openapi()
    paths = document["paths"]

    expected = {
        ("/api/webhooks/{webhook_id}/deliveries", "get"): {"401", "403", "404", "422"},
        ("/api/webhooks/{webhook_id}/deliveries/{delivery_id}", "get"): {"401", "403", "404"},
        ("/api/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", "post"): {
            "401",
            "403",
            "404",
            "409",
        },
        ("/api/webhooks/{webhook_id}/stats", "get"): {"401", "403", "404", "422"},
        ("/api/webhooks/{webhook_id}/recover", "post"): {"400", "401", "403", "404", "413", "422"},
        ("/api/webhook/messages", "get"): {"401", "403", "422"},
    }
    for (path, method), errors in expected.items():
        responses = set(paths[path][method]["responses"])
        assert errors <= responses, (path, method, responses)
    parameters = {p["name"] for p in paths["/api/webhook/messages"]["get"]["parameters"]}
    assert {"platform", "message_type", "status", "page", "per_page"} <= parameters
