"""The assessment service (评残): institutions, doctors, assignment and grading."""
