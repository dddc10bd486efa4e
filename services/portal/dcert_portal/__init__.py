"""The web portal (网上办事大厅): pages for applicants and agents, rendered on the server, that
talk to the four services only through their public HTTP APIs."""
