"""Ingress adapters: MongoDB dedup and rate-limit stores, Kafka publishing and the replies reader."""
