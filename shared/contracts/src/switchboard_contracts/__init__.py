"""Switchboard's contracts.

What every service and any outside consumer agrees on and nothing more: the CloudEvents envelope and its Kafka
binding, the topic names, the event payload and config-record models, webhook signing, strict JSON and the
partner adapters. Few dependencies (pydantic, cryptography, orjson); this package never imports the platform
(switchboard_platform), the test support (switchboard_testing) or a service.
"""
