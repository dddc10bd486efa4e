"""HTTP routes and schemas of the assessment service."""
