"""Partners, data-sharing policies, subscriptions and deliveries: pure rules, no I/O."""
