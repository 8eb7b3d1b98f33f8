"""Registry's Kafka subscribers."""

#: A replica joining (rolling deploy, scale-out) waits for every current member to rejoin, which each does on
#: its next heartbeat: at aiokafka's default 3 s that is 3 s per consumer group at start-up. 1 s keeps joins
#: short for one small request a second per consumer (the session timeout stays 10 s).
HEARTBEAT_MS = 1000
