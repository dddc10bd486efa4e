"""The fault suite: the whole system under load while one fault at a time hits it, then checks.

`python -m tests.faults` (`make faults`) runs every round; docs/fault-suite.md says what each
fault does, what is checked afterwards and how to read the table. tests/test_faults.py runs one
short round inside `make test`. Nothing in this package is a pytest test module.
"""
