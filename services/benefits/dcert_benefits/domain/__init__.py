"""The benefits domain: pure rules, aggregates and events (no FastAPI, SQL or NATS)."""
