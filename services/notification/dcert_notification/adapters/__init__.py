"""Read models, the delivery queue and the webhook client."""
