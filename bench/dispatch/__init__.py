"""The dispatcher benchmark: HTTP ceilings and Kafka → dispatcher → receiver throughput and latency."""
