"""Policy versions: the shipped files recorded at start, new versions from the admin API, and the
one catalogue every decision of this process reads, kept at the newest version of each benefit.

A version is an event (`PolicyVersionRecorded`, stream `policy-<code>`), never an edit. The rules
it adds, changes or removes are registered in `policy_effects` in the same transaction, so they
decide their holders again when they take effect (application/policy_effects.py). Other
replicas pick a new version up from the read model `policy_version_view` (`refresh`).
"""

from __future__ import annotations

from typing import Any

from dcert_shared.envelope import CommandContext
from dcert_shared.problems import Bilingual
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.uow import UnitOfWork

from ..adapters import queries, writes
from ..adapters.policy_files import PolicyCatalogueInvalid, parse_policy
from ..domain.errors import PolicyInvalid
from ..domain.policies import BenefitPolicy, Catalogue
from ..domain.policy_history import PolicyHistory, rule_effects
from .policy_effects import apply_policy_effects


def checked_document(document: Any, code: str | None = None) -> BenefitPolicy:
    """A policy document sent by an admin, checked as a file would be (422 with the place)."""
    try:
        policy = parse_policy(document, code or "policy")
    except PolicyCatalogueInvalid as invalid:
        raise PolicyInvalid(
            detail=Bilingual(f"政策文件不符合格式：{invalid}", f"the policy document is not valid: {invalid}")
        ) from None
    if code is not None and policy.code != code:
        raise PolicyInvalid(
            detail=Bilingual(
                f"文件的补贴代码 {policy.code!r} 不是 {code!r}",
                f"the document's code {policy.code!r} is not {code!r}",
            )
        )
    return policy


class PolicyVersions:
    def __init__(self, runtime: ServiceRuntime, catalogue: Catalogue) -> None:
        self.runtime = runtime
        self.catalogue = catalogue

    async def record(self, context: CommandContext, policy: BenefitPolicy, source: str) -> bool:
        """Record `policy` as its benefit's next version; the catalogue uses it at once."""

        async def decide(uow: UnitOfWork) -> bool:
            history = await uow.load(PolicyHistory, policy.code)
            if history is None:
                history = PolicyHistory(policy.code)
                uow.track(history)
            previous = (
                parse_policy(history.document, f"{policy.code} v{history.current}")
                if history.document is not None
                else None
            )
            if not history.record(policy, previous, source):
                return False
            await writes.register_effects(
                uow.conn, policy.code, policy.version, rule_effects(previous, policy)
            )
            return True

        recorded: bool = await self.runtime.es.execute(context, decide)
        if recorded:
            self.catalogue.put(policy)
        return recorded

    async def record_files(self, context: CommandContext, shipped: Catalogue) -> list[str]:
        """At start: each shipped file newer than what the store holds becomes a version."""
        recorded = []
        for code in shipped.codes:
            if await self.record(context, shipped.policy(code), "file"):
                recorded.append(code)
        await self.refresh()
        return recorded

    async def keep_current(self, context: CommandContext) -> dict[str, int]:
        """Newer versions into the catalogue, then every rule change not applied yet applied."""
        newer = await self.refresh()
        return {
            "newer_versions": newer,
            **await apply_policy_effects(self.runtime.es, self.catalogue, context),
        }

    async def refresh(self) -> int:
        """Put into the catalogue every version recorded (here or by another replica) that is
        newer than the one it holds; returns how many."""
        newer = 0
        for recorded in await queries.newest_policy_versions(self.runtime.pool):
            if (
                recorded.code in self.catalogue
                and self.catalogue.policy(recorded.code).version >= recorded.version
            ):
                continue
            self.catalogue.put(parse_policy(recorded.document, f"{recorded.code} v{recorded.version}"))
            newer += 1
        return newer
