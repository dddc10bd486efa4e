"""domain layer of the certificate service."""
