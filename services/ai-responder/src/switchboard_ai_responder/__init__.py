"""switchboard_ai_responder."""
