"""Development only: embedded servers, the supervisor of `make run` and the pytest fixtures."""
