"""Root conftest: loads the shared fixtures of dcert_shared.testing for every test directory."""

pytest_plugins = ["dcert_shared.testing"]
