"""The fault suite on the cluster of `make run-cluster` (make cluster-faults, docs/cluster.md).

The same rounds, load and checks as `make faults`, on dcert_dev.cluster's engines: three NATS
nodes (streams with three replicas), two PostgreSQL instances kept by Patroni behind HAProxy,
and two processes of each service behind HAProxy, which the load calls. The cluster's own
faults, each injected while the load runs:

- `kill:services`: kill -9 of one process of each of the four services at once;
- `kill:nats-node`: kill -9 of one NATS node, brought back after NODE_DOWN_SECONDS;
- `kill:postgres-primary`: kill -9 of the primary's Patroni and PostgreSQL (the machine is
  gone); Patroni promotes the synchronous standby, the old primary rejoins as a standby;
- `cut:nats-node`: the NATS node on a host of its own (a network namespace) cut off from the
  other nodes and its clients for CUT_SECONDS, then joined again.

The ports differ from `make run-cluster`'s, so that the suite runs beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil

from dcert_dev.cluster import Cluster, NetworkCut, Ports

from .faults import Fault, FaultContext, parse_round
from .system import RESTART_AFTER_SECONDS, SERVICES, Instance, ServiceSet

PORTS = Ports(
    etcd_client=2479,
    etcd_peer=2480,
    postgres=(5533, 5534),
    patroni_api=(8108, 8109),
    postgres_primary=5100,
    nats_client=(4323, 4324, 4325),
    nats_route=(6323, 6324, 6325),
    nats_monitor=(8323, 8324, 8325),
    haproxy_stats=8504,
)
SERVICE_PORTS = {"certificate": 8101, "assessment": 8102, "benefits": 8103, "notification": 8104}
NODE_DOWN_SECONDS = 10.0
NODE_CATCH_UP_SECONDS = 120.0  # a node back from the dead serves once its streams caught up
CUT_SECONDS = 15.0


class ClusterServiceSet(ServiceSet):
    """Two processes of each service on the ports HAProxy balances; the load calls HAProxy."""

    cluster: Cluster

    def launch(self, service: str, *, port: int | None = None, code: Path | None = None) -> Instance:
        backends = self.cluster.service_backends(service)
        taken = len(self.instances[service])
        if port is None and taken < len(backends):
            port = backends[taken]
        return super().launch(service, port=port, code=code)

    async def start(self, timeout: float = 120) -> None:
        for service in SERVICES:
            for _ in self.cluster.service_backends(service):
                self.launch(service)
        await asyncio.gather(*(self.wait_healthy(instance, timeout) for instance in self.all()))

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.cluster.services[service]}"


class ClusterInfrastructure:
    """The cluster the rounds run on; what a fault took down, `restore` brings back."""

    environment = {"DCERT_STREAM_REPLICAS": "3", "DCERT_TRUSTED_PROXIES": '["127.0.0.1/32"]'}

    def __init__(self, data_dir: Path) -> None:
        cut = NetworkCut(namespace="dcert-faults-nats") if NetworkCut.possible() else None
        self.cluster = Cluster(
            data_dir, SERVICE_PORTS, replicas=2, ports=PORTS, network_cut=cut, nats_prefixed=True
        )
        self.cluster.start()
        self.server_url = self.cluster.database_server_url
        self.nats_url = self.cluster.nats_url

    def nats_url_for(self, service: str) -> str:
        return self.cluster.nats_url_for(service)

    def service_set(
        self, environment: dict[str, str], databases: dict[str, str], log_dir: Path, nats_urls: dict[str, str]
    ) -> ServiceSet:
        services = ClusterServiceSet.prepare(environment, databases, log_dir, nats_urls)
        assert isinstance(services, ClusterServiceSet)
        services.cluster = self.cluster
        return services

    def restore(self) -> None:
        """Every engine up again, the network whole, a primary with its synchronous standby."""
        cluster = self.cluster
        if cluster.network_cut is not None:
            cluster.network_cut.heal()
        for engine in cluster.engines:
            if not engine.running():
                engine.start()
        wait_until("a PostgreSQL primary", lambda: cluster.primary() is not None, 120)
        wait_until("the synchronous standby", lambda: cluster.sync_standby() is not None, 180)
        wait_until(
            "every NATS node", lambda: all(node_ready(cluster, n) for n in range(len(cluster.nats))), 60
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.cluster.stop()


def node_ready(cluster: Cluster, node: int) -> bool:
    return node_health(cluster, node) == "ok"


def node_health(cluster: Cluster, node: int) -> str:
    """`ok`, or what the node's /healthz says is not (e.g. a stream still catching up)."""
    url = f"http://{cluster.nats_host(node)}:{cluster.ports.nats_monitor[node]}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return "ok" if int(answer.status) == 200 else f"status {answer.status}"
    except urllib.error.HTTPError as error:
        return error.read().decode(errors="replace")[:300]
    except (urllib.error.URLError, OSError) as error:
        return type(error).__name__


def wait_until(what: str, ready: Callable[[], bool], timeout: float) -> float:
    """Seconds until `ready()` held; TimeoutError past `timeout`."""
    started = time.monotonic()
    while not ready():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - started


async def wait_until_async(what: str, ready: Callable[[], bool], timeout: float) -> float:
    return await asyncio.to_thread(wait_until, what, ready, timeout)


def _cluster(context: FaultContext) -> Cluster:
    infra = context.infra
    if not isinstance(infra, ClusterInfrastructure):
        raise TypeError("a cluster fault needs the cluster (make cluster-faults)")
    return infra.cluster


class KillOneOfEach(Fault):
    @property
    def name(self) -> str:
        return "kill -9 one process of each service"

    async def inject(self, context: FaultContext) -> None:
        victims = [context.rng.choice(context.services.instances[service]) for service in SERVICES]
        for victim in victims:
            context.services.kill(victim)
        context.notes.append("killed " + ", ".join(victim.label for victim in victims))
        await asyncio.sleep(RESTART_AFTER_SECONDS)
        for victim in victims:
            context.services.restart(victim)


class KillNatsNode(Fault):
    @property
    def name(self) -> str:
        return "kill -9 one NATS node of 3"

    async def inject(self, context: FaultContext) -> None:
        cluster = _cluster(context)
        node = context.rng.randrange(len(cluster.nats))
        cluster.nats[node].kill()
        await asyncio.sleep(NODE_DOWN_SECONDS)
        cluster.nats[node].start()
        await _wait_for_node(
            context, cluster, node, f"down {NODE_DOWN_SECONDS:.0f} s, serving again", "its start"
        )


async def _wait_for_node(context: FaultContext, cluster: Cluster, node: int, done: str, since: str) -> None:
    """Until the node serves again (its streams caught up); past NODE_CATCH_UP_SECONDS the
    round goes on and notes why: the checks say whether anything was lost meanwhile."""
    try:
        back = await wait_until_async(
            f"nats-{node}", lambda: node_ready(cluster, node), NODE_CATCH_UP_SECONDS
        )
    except TimeoutError:
        context.notes.append(
            f"nats-{node} not healthy {NODE_CATCH_UP_SECONDS:.0f} s after {since}: {node_health(cluster, node)}"
        )
        return
    context.notes.append(f"nats-{node} {done} {back:.1f} s after {since}")


class KillPostgresPrimary(Fault):
    @property
    def name(self) -> str:
        return "kill -9 the PostgreSQL primary"

    async def inject(self, context: FaultContext) -> None:
        cluster = _cluster(context)
        old = cluster.primary()
        if old is None:
            raise RuntimeError("no PostgreSQL primary to kill")
        processes = _postgres_processes(cluster, old)
        cluster.patroni[old].kill()
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(processes, timeout=10)
        promoted = await wait_until_async(
            "the standby's promotion", lambda: cluster.primary() not in (None, old), 90
        )
        cluster.patroni[old].start()
        rejoined = await wait_until_async(
            f"postgres-{old} as synchronous standby", lambda: cluster.sync_standby() == old, 180
        )
        context.notes.append(
            f"postgres-{old} killed; postgres-{cluster.primary()} promoted after {promoted:.1f} s;"
            f" postgres-{old} synchronous standby again {rejoined:.1f} s after its start"
        )


def _postgres_processes(cluster: Cluster, node: int) -> list[psutil.Process]:
    processes: list[psutil.Process] = []
    for pid in cluster.postgres_pids(node):
        with contextlib.suppress(psutil.NoSuchProcess):
            postmaster = psutil.Process(pid)
            processes += [postmaster, *postmaster.children(recursive=True)]
    return processes


class CutNatsNode(Fault):
    @property
    def name(self) -> str:
        return "one NATS node cut off from the others"

    async def inject(self, context: FaultContext) -> None:
        cluster = _cluster(context)
        cut = cluster.network_cut
        if cut is None:
            raise RuntimeError("no network namespace here (needs root and iproute2): the cut cannot be made")
        cut.cut()
        await asyncio.sleep(CUT_SECONDS)
        cut.heal()
        node = len(cluster.nats) - 1
        await _wait_for_node(context, cluster, node, f"cut off for {CUT_SECONDS:.0f} s; healthy", "the heal")


CLUSTER_FAULTS = {
    "kill:services": KillOneOfEach,
    "kill:nats-node": KillNatsNode,
    "kill:postgres-primary": KillPostgresPrimary,
    "cut:nats-node": CutNatsNode,
}
# Every round of `make cluster-faults`, in order.
CLUSTER_ROUNDS = ("none", *CLUSTER_FAULTS)
QUICK_CLUSTER_ROUND = "kill:services+kill:postgres-primary"


def parse_cluster_round(spec: str) -> list[Fault]:
    """A round of the cluster's faults, or of `make faults`'s service faults, joined by `+`."""
    faults: list[Fault] = []
    for part in (part.strip() for part in spec.split("+")):
        fault = CLUSTER_FAULTS.get(part)
        if fault is not None:
            faults.append(fault())
        elif part.startswith(_SINGLE_SERVER_FAULTS):
            raise ValueError(
                f"{part} is a fault of the single servers; on the cluster: {', '.join(CLUSTER_FAULTS)}"
            )
        else:
            faults += parse_round(part)
    return faults


_SINGLE_SERVER_FAULTS = ("kill:nats", "kill:postgres", "wipe:", "freeze:")
