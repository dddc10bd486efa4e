"""Root conftest: loads the shared fixtures of dcert_dev.testing for every test directory."""

pytest_plugins = ["dcert_dev.testing"]
