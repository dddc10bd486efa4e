"""adapters layer of the certificate service."""
