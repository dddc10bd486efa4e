"""Adapters of the benefits service: the policy files and the read models."""
