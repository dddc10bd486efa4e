"""HTTP routes and schemas of the notification service."""
