"""api layer of the certificate service."""
