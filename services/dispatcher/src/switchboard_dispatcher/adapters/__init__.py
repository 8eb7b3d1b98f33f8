"""Dispatcher adapters: the HTTP sender, the durable schedule, endpoint health."""
