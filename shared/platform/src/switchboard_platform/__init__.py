"""Switchboard's service platform.

The runtime every service is built on: the app factory, HTTP errors, health and metrics, settings, logs,
tracing, Kafka and MongoDB glue, config following and outbound-URL safety. Imports the contracts
(switchboard_contracts), never the test support (switchboard_testing) or a service.
"""
