"""Switchboard's shared contracts.

What every service agrees on and nothing more: the CloudEvents envelope and its Kafka binding, the topic
names, the event payload models, webhook signing, base settings and the health/metrics plumbing. This
package never imports a service.
"""
