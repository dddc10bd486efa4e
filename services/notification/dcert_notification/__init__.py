"""The notification service: partner agencies, their data-sharing policies and signed webhooks."""
