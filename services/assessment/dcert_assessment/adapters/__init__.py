"""Read models and their projector."""
