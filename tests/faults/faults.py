"""The faults, one per round (a round may combine some with `+`), each injected at a random moment.

A fault's `inject` returns when the fault is over: the killed process restarted, the frozen
server thawed, the old version stopped. Recovery is measured from then (docs/fault-suite.md).
"""

from __future__ import annotations

import asyncio
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .system import RESTART_AFTER_SECONDS, SERVICES, Infrastructure, Instance, ServiceSet

REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass
class FaultContext:
    infra: Infrastructure  # or the cluster's (tests/faults/cluster.py), which its faults need
    services: ServiceSet
    rng: random.Random
    work_dir: Path  # the round's folder (copies of code go here)
    freeze_seconds: float
    overlap_seconds: float
    notes: list[str] = field(default_factory=list)  # what the faults did, for the details
    first_fault_at: float | None = None  # monotonic: when the first fault of the round began


class Fault:
    """Nothing happens: the calm round every other is compared with."""

    @property
    def name(self) -> str:
        return "none"

    async def prepare(self, context: FaultContext) -> None:
        """Before the load starts (e.g. a second process of a service)."""

    async def inject(self, context: FaultContext) -> None:
        """The fault itself; returns when it is over."""


@dataclass
class KillService(Fault):
    service: str

    @property
    def name(self) -> str:
        return f"kill -9 {self.service}"

    async def inject(self, context: FaultContext) -> None:
        instance = context.services.primary(self.service)
        context.services.kill(instance)
        await asyncio.sleep(RESTART_AFTER_SECONDS)
        context.services.restart(instance)


class KillNats(Fault):
    @property
    def name(self) -> str:
        return "kill -9 nats-server"

    async def inject(self, context: FaultContext) -> None:
        context.infra.kill_nats()
        await asyncio.sleep(RESTART_AFTER_SECONDS)
        context.infra.start_nats()


class WipeNats(Fault):
    @property
    def name(self) -> str:
        return "nats-server disk wiped"

    async def inject(self, context: FaultContext) -> None:
        context.infra.kill_nats()
        context.infra.wipe_nats_store()
        await asyncio.sleep(RESTART_AFTER_SECONDS)
        context.infra.start_nats()


class KillPostgres(Fault):
    @property
    def name(self) -> str:
        return "kill -9 postgres"

    async def inject(self, context: FaultContext) -> None:
        context.infra.kill_postgres()
        await asyncio.sleep(RESTART_AFTER_SECONDS)
        await asyncio.to_thread(context.infra.start_postgres)


class FreezePostgres(Fault):
    """PostgreSQL unreachable for longer than the consumers' retry ladder (3.5 s in the suite)."""

    @property
    def name(self) -> str:
        return "postgres frozen"

    async def inject(self, context: FaultContext) -> None:
        frozen = context.infra.freeze_postgres()
        try:
            await asyncio.sleep(context.freeze_seconds)
        finally:
            context.infra.thaw_postgres(frozen)
        context.notes.append(f"PostgreSQL frozen (SIGSTOP) for {context.freeze_seconds:.0f} s")


@dataclass(frozen=True)
class ShapeChange:
    """A read-model table of the new version gets a column and indexes: another DDL fingerprint."""

    package: str  # e.g. dcert_benefits
    source: str  # the package folder in the repository
    data_dirs: tuple[tuple[str, str], ...]  # (repository folder, folder inside the copy)
    table_class: str
    line: str  # a line of that class, replaced by `new_lines`
    new_lines: str


SHAPE_CHANGES = {
    "benefits": ShapeChange(
        package="dcert_benefits",
        source="services/benefits/dcert_benefits",
        data_dirs=(("services/benefits/policies", "policies"),),
        table_class="class BenefitView(",
        line="    certificate_number: str\n",
        new_lines=(
            "    certificate_number: str = Field(index=True)\n"
            '    shape: str = Field(default="v2", index=True, sa_column_kwargs={"server_default": "v2"})\n'
        ),
    ),
    "certificate": ShapeChange(
        package="dcert_certificate",
        source="services/certificate/dcert_certificate",
        data_dirs=(),
        table_class="class CertificateView(",
        line="    application_id: str\n",
        new_lines=(
            "    application_id: str = Field(index=True)\n"
            '    shape: str = Field(default="v2", index=True, sa_column_kwargs={"server_default": "v2"})\n'
        ),
    ),
}


def new_version(change: ShapeChange, target: Path) -> Path:
    """A copy of the service's package with the changed read model: the folder for PYTHONPATH."""
    root = target / "code"
    package = root / change.package
    shutil.copytree(REPOSITORY / change.source, package, ignore=shutil.ignore_patterns("__pycache__"))
    for source, inside in change.data_dirs:
        shutil.copytree(REPOSITORY / source, package / inside, ignore=shutil.ignore_patterns("__pycache__"))
        # A plain package, as an installed wheel has it (a namespace one reads as a MultiplexedPath).
        (package / inside / "__init__.py").touch()
    read_models = package / "adapters" / "read_models.py"
    text = read_models.read_text()
    start = text.index(change.table_class)
    at = text.index(change.line, start)
    read_models.write_text(text[:at] + change.new_lines + text[at + len(change.line) :])
    return root


@dataclass
class Rollout(Fault):
    """The new version starts beside the old one; both take traffic; then the old one stops."""

    service: str
    code: Path | None = None  # the new version's code, made by `prepare`

    @property
    def name(self) -> str:
        return f"rollout {self.service} (new read-model shape)"

    async def prepare(self, context: FaultContext) -> None:
        self.code = new_version(SHAPE_CHANGES[self.service], context.work_dir / f"new-{self.service}")

    async def inject(self, context: FaultContext) -> None:
        services = context.services
        old = [instance for instance in services.instances[self.service] if instance.in_rotation]
        new = services.launch(self.service, code=self.code)
        new.in_rotation = False
        await services.wait_healthy(new, timeout=120)
        new.in_rotation = True
        context.notes.append(
            f"{new.label} healthy; old and new side by side for {context.overlap_seconds:.0f} s"
        )
        await asyncio.sleep(context.overlap_seconds)
        for instance in old:
            await services.retire(instance)


@dataclass
class TwinKill(Fault):
    """Two processes of one service share its database and consumers; one of them is killed."""

    service: str
    victim: Instance | None = None

    @property
    def name(self) -> str:
        return f"2 x {self.service}, one kill -9"

    async def prepare(self, context: FaultContext) -> None:
        twin = context.services.launch(self.service)
        await context.services.wait_healthy(twin)

    async def inject(self, context: FaultContext) -> None:
        instances = context.services.instances[self.service]
        self.victim = context.rng.choice(instances)
        context.notes.append(f"killed {self.victim.label} of {len(instances)}")
        context.services.kill(self.victim)
        await asyncio.sleep(RESTART_AFTER_SECONDS)
        context.services.restart(self.victim)


_SPEC = re.compile(r"^(none|kill|wipe|freeze|rollout|twin)(?::([a-z]+))?$")
TARGETS = {
    "kill": (*SERVICES, "nats", "postgres"),
    "wipe": ("nats",),
    "freeze": ("postgres",),
    "rollout": tuple(SHAPE_CHANGES),
    "twin": SERVICES,
}
# Every round of `make faults`, in order; `--rounds` picks others (docs/fault-suite.md).
ALL_ROUNDS = (
    "none",
    *(f"kill:{target}" for target in TARGETS["kill"]),
    "wipe:nats",
    "freeze:postgres",
    "rollout:benefits",
    "twin:certificate",
    "twin:notification",
)


def parse_round(spec: str) -> list[Fault]:
    """`kill:assessment+wipe:nats` -> the faults of one round, injected one after the other."""
    faults: list[Fault] = []
    for part in spec.split("+"):
        found = _SPEC.match(part.strip())
        if not found:
            raise ValueError(f"not a fault: {part!r} (see docs/fault-suite.md)")
        kind, target = found.group(1), found.group(2)
        if kind == "none":
            faults.append(Fault())
            continue
        if target not in TARGETS[kind]:
            raise ValueError(f"{kind}: one of {', '.join(TARGETS[kind])}, not {target!r}")
        faults.append(_fault(kind, target))
    return faults


def _fault(kind: str, target: str) -> Fault:
    if kind == "kill":
        return {"nats": KillNats(), "postgres": KillPostgres()}.get(target) or KillService(target)
    if kind == "wipe":
        return WipeNats()
    if kind == "freeze":
        return FreezePostgres()
    if kind == "rollout":
        return Rollout(target)
    return TwinKill(target)
