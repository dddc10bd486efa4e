"""Use cases and reactions of the notification service."""
