"""The operator's console: one `dcert` command over the services' databases and the broker,
with the services' own settings (docs/operations.md)."""
