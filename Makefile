# make run    - install (once) and run the whole system: four services, the portal, embedded PostgreSQL and NATS
# make test   - install (once) and run every test
# make faults - the fault suite: the system under load, one fault per round, then checks (docs/fault-suite.md)
# make schema-sql SERVICE=certificate - the SQL that brings a service's database to head, for a DBA (docs/adr/0010)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Service projects are added as they appear: every services/<name>/ with a pyproject.toml.
SERVICE_PROJECTS := $(wildcard services/*/pyproject.toml)
SERVICE_DIRS := $(patsubst %/pyproject.toml,%,$(SERVICE_PROJECTS))
DEV_TOOLS := pytest==9.2.0 pytest-asyncio==1.5.0 ruff==0.17.6 mypy==2.4.1 hypothesis==6.170.15 pyyaml==6.0.3 aiosmtpd==1.4.6 schemathesis==4.32.5 \
	playwright==1.65.2 axe-playwright-python==0.1.8
# The browser tests drive Debian's Chromium (Playwright's own browser download does not work here).
CHROMIUM ?= /usr/bin/chromium

SERVICES := \
	--service certificate=dcert_certificate.main:app:8001 \
	--service assessment=dcert_assessment.main:app:8002 \
	--service benefits=dcert_benefits.main:app:8003 \
	--service notification=dcert_notification.main:app:8004 \
	--service portal=dcert_portal.main:app:8005

.PHONY: venv browser run test bench faults schema-sql check clean-data

venv: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) Makefile pyproject.toml shared/pyproject.toml $(SERVICE_PROJECTS)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e shared $(addprefix -e ,$(SERVICE_DIRS)) $(DEV_TOOLS)
	touch $(STAMP)

# exec: the supervisor replaces the shell, so a SIGINT to the process group reaches it directly;
# it stops the services, NATS and PostgreSQL in order and exits 0.
run: venv
	exec $(PY) -m dcert_shared.supervisor $(SERVICES)

# Chromium, and a Chinese font for the pages' screenshots (docs/screenshots/), from Debian.
browser:
	@test -x $(CHROMIUM) && fc-list :lang=zh | grep -q . || \
		(apt-get update -q && apt-get install -y -q chromium fonts-wqy-zenhei)

test: venv browser
	$(PY) -m pytest -q

bench: venv
	$(PY) bench/append.py
	$(PY) bench/end_to_end.py
	$(PY) bench/monthly_run.py
	$(PY) bench/webhooks.py
	$(PY) bench/rate_limits.py

# One round per fault (about 25 minutes); e.g. FAULTS_ARGS="--rounds kill:nats,wipe:nats --seed 7".
faults: venv
	$(PY) -m tests.faults $(FAULTS_ARGS)

# alembic's `upgrade heads --sql` for every branch of the service's schema history.
schema-sql: venv
	@test -n "$(SERVICE)" || (echo "SERVICE=certificate|assessment|benefits|notification" >&2; exit 2)
	@$(PY) -m dcert_shared.schema_history sql $(SERVICE)

check: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	MYPYPATH=shared $(VENV)/bin/mypy --strict shared/dcert_shared
	MYPYPATH=shared $(VENV)/bin/mypy --strict services/portal/dcert_portal

clean-data:
	rm -rf .data
