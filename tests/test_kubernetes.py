"""The Kubernetes deployment (deploy/k8s) is checked by what can run here: each overlay rendered
by kubectl's kustomize, every object validated against the Kubernetes API schemas and the
CloudNativePG schemas, the policies a reviewer looks for, the dashboard's metrics against the
code, and the NATS chart's server configuration against nats-server's own config test."""

from __future__ import annotations

import ast
import copy
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import Histogram, InMemoryMetricReader, Sum

from dcert_dev.embedded import nats_server_binary
from dcert_portal.bootstrap import create_app
from dcert_portal.settings import PortalSettings
from dcert_shared.broker_permissions import SERVICES as BROKER_USERS
from dcert_shared.broker_permissions import password_variable, user_names
from tests.test_deploy_configs import password_environment, tls_files

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
CRDS = K8S / "crds"
DASHBOARD = ROOT / "deploy" / "grafana" / "dcert-dashboard.json"
NATS_VALUES = K8S / "nats" / "values.yaml"
USERS_CONF = ROOT / "deploy" / "nats" / "users.conf"
# The Kubernetes version whose API schemas the objects must meet (strict: no unknown field).
KUBERNETES_VERSION = "1.31.0"
SERVICES = ("certificate", "assessment", "benefits", "notification")
NAMESPACE = "dcert"

Document = dict[str, Any]


@cache
def rendered(overlay: str) -> tuple[Document, ...]:
    """`kubectl kustomize` of the overlay; `make test` installs kubectl where it is missing."""
    kubectl = shutil.which("kubectl")
    assert kubectl is not None, "kubectl is missing: `make test` installs it (Debian's kubernetes-client)"
    result = subprocess.run([kubectl, "kustomize", str(K8S / overlay)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return tuple(document for document in yaml.safe_load_all(result.stdout) if document)


def of_kind(overlay: str, kind: str) -> list[Document]:
    return [document for document in rendered(overlay) if document["kind"] == kind]


def labels_match(selector: Document, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and the In/NotIn/Exists expressions) against labels."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        present = key in labels
        if operator == "In" and labels.get(key) not in expression["values"]:
            return False
        if operator == "NotIn" and present and labels[key] in expression["values"]:
            return False
        if operator == "Exists" and not present or operator == "DoesNotExist" and present:
            return False
    return True


def pod_labels(deployment: Document) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def deployments(overlay: str) -> list[Document]:
    return of_kind(overlay, "Deployment")


def deployment_ids(overlay: str) -> Iterator[tuple[str, str]]:
    for document in rendered(overlay):
        if document["kind"] == "Deployment":
            yield overlay, document["metadata"]["name"]


# --- schemas -------------------------------------------------------------------------------------

CUSTOM_GROUPS = ("postgresql.cnpg.io/", "barmancloud.cnpg.io/")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_meets_the_kubernetes_api_schemas(overlay: str) -> None:
    problems = []
    for document in rendered(overlay):
        if document["apiVersion"].startswith(CUSTOM_GROUPS):
            continue
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{document['kind']} {document['metadata']['name']}: {error.message}")
    assert not problems, "\n".join(problems)


def closed(schema: Any) -> Any:
    """The CRD's schema with unknown fields refused: the API server would drop them silently
    (pruning), so a misspelt field would be lost without a word."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: closed(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    return result


@cache
def custom_resource_schemas() -> dict[tuple[str, str], Document]:
    """(apiVersion, kind) -> the openAPIV3Schema of the CRDs kept in deploy/k8s/crds."""
    schemas = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            api_version = f"{crd['spec']['group']}/{version['name']}"
            schemas[api_version, crd["spec"]["names"]["kind"]] = closed(version["schema"]["openAPIV3Schema"])
    return schemas


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_custom_resource_meets_its_crd_schema(overlay: str) -> None:
    custom = [document for document in rendered(overlay) if document["apiVersion"].startswith(CUSTOM_GROUPS)]
    assert {document["kind"] for document in custom} == {"Cluster", "ScheduledBackup", "ObjectStore"}
    for document in custom:
        schema = custom_resource_schemas().get((document["apiVersion"], document["kind"]))
        assert schema is not None, f"no CRD kept for {document['apiVersion']} {document['kind']}"
        jsonschema.validate(document, schema)


def test_the_crd_check_refuses_a_misspelt_field() -> None:
    """The closed schema is what makes the check above worth having."""
    cluster = copy.deepcopy(of_kind("production", "Cluster")[0])
    cluster["spec"]["postgresql"]["synchronus"] = cluster["spec"]["postgresql"].pop("synchronous")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            cluster["spec"],
            custom_resource_schemas()["postgresql.cnpg.io/v1", "Cluster"]["properties"]["spec"],
        )


# --- the workloads -------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_four_services_and_the_portal_run_as_deployments(overlay: str) -> None:
    names = {document["metadata"]["name"] for document in deployments(overlay)}
    assert {*SERVICES, "portal", "otel-collector"} == names


@pytest.mark.parametrize(("overlay", "least"), [("dev", 2), ("production", 3)])
def test_every_deployment_has_replicas_enough_to_lose_one(overlay: str, least: int) -> None:
    for deployment in deployments(overlay):
        assert deployment["spec"]["replicas"] >= least, deployment["metadata"]["name"]


@cache
def served_paths(component: str) -> frozenset[str]:
    """The routes a component answers: a service's from its OpenAPI document (written from the
    code and checked by tests), the portal's from its app."""
    if component == "portal":
        app = create_app(PortalSettings(environment="test"))
        return frozenset(getattr(route, "path", "") for route in app.routes)
    document = json.loads((ROOT / "docs" / "openapi" / f"{component}.json").read_text())
    return frozenset(document["paths"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_is_probed_for_life_and_readiness_on_routes_it_serves(overlay: str) -> None:
    for deployment in deployments(overlay):
        name = deployment["metadata"]["name"]
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for probe in ("livenessProbe", "readinessProbe"):
                assert probe in container, f"{name}: no {probe}"
            if name in SERVICES:
                assert container["livenessProbe"]["httpGet"]["path"] == "/health/live", name
                assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", name
            if name in (*SERVICES, "portal"):
                for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                    if probe in container:
                        assert container[probe]["httpGet"]["path"] in served_paths(name), (name, probe)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_unprivileged_on_a_read_only_root(overlay: str) -> None:
    for deployment in deployments(overlay):
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert isinstance(pod["securityContext"]["runAsUser"], int)
        assert pod["securityContext"]["runAsUser"] > 0
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod.get("automountServiceAccountToken") is False, name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert "add" not in context["capabilities"], name
            assert {"requests", "limits"} <= set(container["resources"]), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_spreads_over_zones_and_hosts(overlay: str) -> None:
    for deployment in deployments(overlay):
        constraints = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        keys = {constraint["topologyKey"] for constraint in constraints}
        assert {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} <= keys, deployment["metadata"][
            "name"
        ]
        for constraint in constraints:
            assert labels_match(constraint["labelSelector"], pod_labels(deployment))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_disruption_budget_covers_every_deployment(overlay: str) -> None:
    budgets = of_kind(overlay, "PodDisruptionBudget")
    for deployment in deployments(overlay):
        covering = [
            budget for budget in budgets if labels_match(budget["spec"]["selector"], pod_labels(deployment))
        ]
        assert len(covering) == 1, deployment["metadata"]["name"]
        assert covering[0]["spec"].get("maxUnavailable") == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_takes_its_own_database_and_broker_user_from_secrets(overlay: str) -> None:
    for deployment in deployments(overlay):
        name = deployment["metadata"]["name"]
        if name not in SERVICES:
            continue
        environment = {
            variable["name"]: variable
            for variable in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert environment["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": f"{name}-db-app",
            "key": "uri",
        }
        assert environment["NATS_URL"]["value"].startswith(f"tls://{name}:$(DCERT_NATS_PASSWORD)@")
        assert environment["DCERT_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == name
        assert {"DCERT_MASTER_KEY", "DCERT_IDENTITY_HASH_KEY"} <= set(environment)
        for variable in environment.values():
            assert "value" in variable or "secretKeyRef" in variable["valueFrom"], variable["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_services_get_every_setting_production_requires(overlay: str) -> None:
    config = next(
        document
        for document in of_kind(overlay, "ConfigMap")
        if document["metadata"]["name"].startswith("dcert-config")
    )
    settings = config["data"]
    assert settings["DCERT_ENV"] == "production"
    assert settings["DCERT_STREAM_REPLICAS"] == "3"
    assert settings["DCERT_AUTH_OIDC_ISSUER"].startswith("https://")
    assert settings["DCERT_OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://otel-collector")
    assert json.loads(settings["DCERT_TRUSTED_PROXIES"]), "the ingress controller's addresses"
    portal = next(
        document
        for document in of_kind(overlay, "ConfigMap")
        if document["metadata"]["name"].startswith("portal-config")
    )
    assert portal["data"]["DCERT_PORTAL_PUBLIC_URL"].startswith("https://")
    assert portal["data"]["DCERT_PORTAL_OIDC_ISSUER"] == settings["DCERT_AUTH_OIDC_ISSUER"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_is_rendered(overlay: str) -> None:
    """Secrets are made by the operator (docs/deployment-kubernetes.md), never committed."""
    assert of_kind(overlay, "Secret") == []
    for document in rendered(overlay):
        assert "password" not in json.dumps(document.get("data", {})).lower(), document["metadata"]["name"]


# --- PostgreSQL ----------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_has_its_own_replicated_backed_up_postgresql_18(overlay: str) -> None:
    clusters = {document["metadata"]["name"]: document for document in of_kind(overlay, "Cluster")}
    assert set(clusters) == {f"{service}-db" for service in SERVICES}
    backups = {document["spec"]["cluster"]["name"] for document in of_kind(overlay, "ScheduledBackup")}
    assert backups == set(clusters)
    for name, cluster in clusters.items():
        spec = cluster["spec"]
        assert spec["instances"] == 3, name
        assert re.search(r"postgresql:18[.-]", spec["imageName"]), name
        assert spec["postgresql"]["synchronous"]["method"] == "any"
        assert spec["postgresql"]["synchronous"]["number"] >= 1
        assert [plugin["isWALArchiver"] for plugin in spec["plugins"]] == [True], name


# --- the network ---------------------------------------------------------------------------------


def policies_selecting(overlay: str, labels: dict[str, str], direction: str) -> list[Document]:
    return [
        policy
        for policy in of_kind(overlay, "NetworkPolicy")
        if direction in policy["spec"]["policyTypes"] and labels_match(policy["spec"]["podSelector"], labels)
    ]


def egress_ports(overlay: str, labels: dict[str, str]) -> set[int]:
    return {
        port["port"]
        for policy in policies_selecting(overlay, labels, "Egress")
        for rule in policy["spec"].get("egress", [])
        for port in rule.get("ports", [])
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_namespace_denies_all_traffic_that_no_policy_allows(overlay: str) -> None:
    deny = [policy for policy in of_kind(overlay, "NetworkPolicy") if policy["spec"]["podSelector"] == {}]
    assert any(
        set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and "ingress" not in policy["spec"]
        and "egress" not in policy["spec"]
        for policy in deny
    )
    assert all(policy["metadata"]["namespace"] == NAMESPACE for policy in of_kind(overlay, "NetworkPolicy"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_network_policy_covers_every_deployment(overlay: str) -> None:
    for deployment in deployments(overlay):
        labels = pod_labels(deployment)
        name = deployment["metadata"]["name"]
        own = [
            policy
            for policy in policies_selecting(overlay, labels, "Ingress")
            if policy["spec"]["podSelector"] != {}
        ]
        assert own, f"{name}: no policy of its own"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_reaches_only_what_it_needs(overlay: str) -> None:
    for service in SERVICES:
        labels = {"app.kubernetes.io/name": service}
        wanted = {53, 5432, 4222, 4318, 443}
        assert egress_ports(overlay, labels) == wanted, service
        database_rules = [
            rule
            for policy in policies_selecting(overlay, labels, "Egress")
            for rule in policy["spec"].get("egress", [])
            if any(port["port"] == 5432 for port in rule.get("ports", []))
        ]
        databases = {
            peer["podSelector"]["matchLabels"]["cnpg.io/cluster"]
            for rule in database_rules
            for peer in rule["to"]
        }
        assert databases == {f"{service}-db"}, service
    internet = [
        policy["metadata"]["name"]
        for policy in of_kind(overlay, "NetworkPolicy")
        for rule in policy["spec"].get("egress", [])
        for peer in rule.get("to", [])
        if peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0"
    ]
    assert internet == ["notification"], "only notification reaches partners' webhooks on the internet"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_portal_reaches_the_services_and_the_identity_provider_only(overlay: str) -> None:
    assert egress_ports(overlay, {"app.kubernetes.io/name": "portal"}) == {53, 8000, 443}


# --- the entrance --------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_serves_the_portal_and_each_public_api_over_tls(overlay: str) -> None:
    (ingress,) = of_kind(overlay, "Ingress")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert sorted(hosts) == sorted(ingress["spec"]["tls"][0]["hosts"])
    backends = {
        path["backend"]["service"]["name"]: path["path"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"portal": "/", **{service: "/v1" for service in SERVICES}}
    services = {document["metadata"]["name"] for document in of_kind(overlay, "Service")}
    assert set(backends) <= services


# --- the dashboard -------------------------------------------------------------------------------

# How the collector's Prometheus exporter names OpenTelemetry units (its default
# add_metric_suffixes): braces ({request}) are dropped.
PROMETHEUS_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes"}
INSTRUMENT_KINDS = {
    "create_counter": "counter",
    "create_observable_counter": "counter",
    "create_histogram": "histogram",
    "create_observable_gauge": "gauge",
    "create_up_down_counter": "gauge",
    "create_observable_up_down_counter": "gauge",
}


def prometheus_names(name: str, unit: str, kind: str) -> set[str]:
    """The series names one OpenTelemetry instrument becomes in Prometheus."""
    base = re.sub(r"[^a-zA-Z0-9_]", "_", name)
    suffix = PROMETHEUS_UNITS.get(unit, "") if not unit.startswith("{") else ""
    if suffix and not base.endswith(f"_{suffix}"):
        base = f"{base}_{suffix}"
    if kind == "counter":
        return {f"{base}_total"}
    if kind == "histogram":
        return {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
    return {base}


def instruments_in_code() -> set[str]:
    """Every instrument the shared library and the services create, read from their source."""
    names = set()
    for path in [*(ROOT / "shared").rglob("*.py"), *(ROOT / "services").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            kind = INSTRUMENT_KINDS.get(node.func.attr)
            if kind is None or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            unit = next((keyword.value for keyword in node.keywords if keyword.arg == "unit"), None)
            unit_text = unit.value if isinstance(unit, ast.Constant) else ""
            names |= prometheus_names(str(node.args[0].value), str(unit_text), kind)
    return names


def http_server_metrics() -> set[str]:
    """What the installed FastAPI instrumentation emits for one request, as the services use it."""
    reader = InMemoryMetricReader()
    app = FastAPI()

    @app.get("/v1/things")
    def things() -> dict[str, str]:
        return {}

    FastAPIInstrumentor.instrument_app(app, meter_provider=MeterProvider(metric_readers=[reader]))
    TestClient(app).get("/v1/things")
    names = set()
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if isinstance(metric.data, Histogram):
                    kind = "histogram"
                elif isinstance(metric.data, Sum) and metric.data.is_monotonic:
                    kind = "counter"
                else:
                    kind = "gauge"
                names |= prometheus_names(metric.name, metric.unit or "", kind)
    return names


def metric_names(expression: str) -> set[str]:
    """The series a PromQL expression reads: label matchers and groupings taken out first."""
    bare = re.sub(r"\{[^}]*\}|\b(?:by|without)\s*\([^)]*\)", "", expression)
    return set(re.findall(r"\b((?:dcert|http)_[a-z0-9_]+)\b", bare))


def test_the_dashboard_queries_only_metrics_the_code_emits() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    expressions += [
        variable["query"] for variable in dashboard["templating"]["list"] if variable["type"] == "query"
    ]
    queried = {name for expression in expressions for name in metric_names(expression)}
    emitted = instruments_in_code() | http_server_metrics()
    assert queried, "the dashboard queries nothing"
    assert queried <= emitted, f"not emitted: {sorted(queried - emitted)}"
    wanted = {
        "dcert_loop_lag_events",
        "dcert_consumer_dead_letters_total",
        "dcert_webhook_attempts_total",
        "dcert_events_appended_total",
    }
    assert wanted <= queried


def test_the_dashboard_ships_as_a_configmap_grafana_picks_up() -> None:
    (config,) = [
        document
        for document in of_kind("production", "ConfigMap")
        if document["metadata"]["name"].startswith("dcert-dashboard")
    ]
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config["data"]["dcert-dashboard.json"]) == json.loads(DASHBOARD.read_text())


# --- NATS ----------------------------------------------------------------------------------------


def nats_values() -> Document:
    values: Document = yaml.safe_load(NATS_VALUES.read_text())
    return values


def chart_config(values: Document) -> Document:
    """The server configuration the NATS chart (nats/nats 2.x, files/config/*.yaml) writes for
    these values: its defaults, then each section's `merge`, then the top-level `merge`."""
    config = values["config"]
    cluster, client, jetstream = config["cluster"], config["nats"], config["jetstream"]

    def tls(section: Document, folder: str) -> Document:
        return {"cert_file": f"{folder}/tls.crt", "key_file": f"{folder}/tls.key", **section["tls"]["merge"]}

    routes = [f"tls://nats-{index}.nats-headless:6222" for index in range(cluster["replicas"])]
    return {
        "server_name": "<< $SERVER_NAME >>",
        "lame_duck_grace_period": "10s",
        "lame_duck_duration": "30s",
        "port": 4222,
        "tls": tls(client, "/etc/nats-certs/nats"),
        "cluster": {
            "name": "nats",
            "port": 6222,
            "no_advertise": cluster["noAdvertise"],
            "routes": routes,
            "tls": tls(cluster, "/etc/nats-certs/cluster"),
        },
        "http_port": 8222,
        "jetstream": {
            "max_memory_store": f"<< {jetstream['memoryStore']['maxSize']} >>",
            "store_dir": jetstream["fileStore"]["dir"],
            "max_file_store": f"<< {jetstream['fileStore']['pvc']['size']} >>",
            **jetstream["merge"],
        },
        **config["merge"],
    }


def formatted(config: Document) -> str:
    """The chart's nats.formatConfig: JSON, `<< x >>` unquoted, `$include` keys as includes."""
    includes = [value for key, value in config.items() if key.endswith("$include")]
    text = json.dumps({key: value for key, value in config.items() if not key.endswith("$include")}, indent=2)
    text = re.sub(r'"<< (.*?) >>"', r"\1", text)
    return "".join(f"include {path};\n" for path in includes) + text


def test_the_nats_chart_values_make_a_valid_clustered_server(tmp_path: Path) -> None:
    config = chart_config(nats_values())
    text = formatted(config)
    tls = tls_files(tmp_path / "tls")
    text = text.replace("/etc/nats-certs/nats/tls.crt", str(tls / "server.pem")).replace(
        "/etc/nats-certs/nats/tls.key", str(tls / "server-key.pem")
    )
    text = text.replace("/etc/nats-certs/cluster/tls.crt", str(tls / "server.pem")).replace(
        "/etc/nats-certs/cluster/tls.key", str(tls / "server-key.pem")
    )
    text = text.replace("/etc/nats-certs/cluster/ca.crt", str(tls / "ca.pem")).replace(
        '"/data"', json.dumps(str(tmp_path / "data"))
    )
    assert "/etc/" not in text, "every file the configuration names is made up here"
    (tmp_path / "nats.conf").write_text(text)
    shutil.copy(USERS_CONF, tmp_path / "users.conf")
    environment = {"SERVER_NAME": "nats-0", **password_environment(USERS_CONF.read_text())}
    result = subprocess.run(
        [str(nats_server_binary()), "-t", "-c", str(tmp_path / "nats.conf")],
        capture_output=True,
        text=True,
        env=environment,
    )
    assert result.returncode == 0, result.stdout + result.stderr + text


def test_the_nats_chart_values_keep_what_the_cluster_configs_hold() -> None:
    """sync_interval always, mutual TLS between nodes, clients over TLS, three nodes with
    JetStream on persistent volumes: as deploy/nats/cluster-node-*.conf."""
    values = nats_values()
    config = values["config"]
    assert config["jetstream"]["merge"]["sync_interval"] == "always"
    assert config["cluster"]["replicas"] == 3
    assert config["cluster"]["enabled"]
    assert config["cluster"]["tls"]["merge"]["verify"] is True
    assert config["nats"]["tls"]["enabled"]
    assert config["nats"]["tls"]["secretName"]
    assert config["jetstream"]["fileStore"]["pvc"]["enabled"]
    assert config["merge"]["$include"] == "./users.conf"


def test_the_nats_server_gets_every_users_password_from_a_secret() -> None:
    environment = nats_values()["container"]["env"]
    assert set(environment) == {password_variable(user) for user in user_names()}
    assert set(environment) == set(password_environment(USERS_CONF.read_text()))
    for variable, source in environment.items():
        assert source["valueFrom"]["secretKeyRef"]["name"] == "dcert-nats-passwords", variable
    assert {access.service for access in BROKER_USERS} == set(SERVICES)
