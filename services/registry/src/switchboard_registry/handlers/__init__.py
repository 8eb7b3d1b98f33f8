"""Registry's Kafka subscribers."""
