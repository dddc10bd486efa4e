"""Attacks: what a caller who lies, probes or overreaches tries, and what the system answers.

One module per class of attack (docs/security.md, the threat model). Each test first does
what the attacker would, against the running services (the session's `system`, or a service of
its own), and asserts what a user of the system must be able to rely on.
"""
