"""application layer of the certificate service."""
