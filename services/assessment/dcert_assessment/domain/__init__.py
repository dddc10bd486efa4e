"""The assessment model: institutions, doctors, assessments and the grading rules (pure)."""
