"""Shared building blocks of the disability certificate services."""
