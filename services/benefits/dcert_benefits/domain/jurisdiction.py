"""A partner's jurisdiction (管辖范围): the regions whose people it may report facts about.

The admin grants it in the partner's data-sharing policy (the notification service); this
service learns it from `PartnerRegistered` / `PartnerPolicyChanged`. A person lies in it when
the household region of their certificate does; a person with no certificate yet cannot be
placed, and their facts wait until one is issued.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dcert_shared.regions import NATIONAL, covers


@dataclass(frozen=True)
class Jurisdiction:
    regions: tuple[str, ...]

    @classmethod
    def of(cls, regions: Iterable[str]) -> Jurisdiction:
        return cls(tuple(regions))

    def covers(self, region: str) -> bool:
        return NATIONAL in self.regions or any(covers(area, region) for area in self.regions)


NATIONWIDE = Jurisdiction((NATIONAL,))
NOWHERE = Jurisdiction(())  # a partner this service does not know (any more)
