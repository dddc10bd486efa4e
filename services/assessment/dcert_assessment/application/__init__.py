"""Use cases of the assessment service and its reactions to other services."""
