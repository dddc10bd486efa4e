"""Who may do what on which record of the notification service: every rule of the service is here.

- An admin registers partners and changes their policies (and reads their versions), reads
  every delivery, the dead letters and the notices' delivery record, and replays dead letters.
- A partner (its `partner_id` claim) reads its own policy, and keeps its own subscriptions,
  deliveries and replays; it names no subscription of another partner. What its webhooks carry
  is only its policy's fields (application/delivering.py). Dead letters are the operator's: a
  partner sees its own dead ones in its delivery log (`status=dead`).
- A person (and their agent) keeps their own contact and inbox, found by the keyed hash of the
  token's identity number (api/dependencies.py, `MyPersonRef`).

Answers: 403 for a role that may never do something; 404 for a subscription or a notice that
exists but is someone else's, as if it did not exist.
"""

from __future__ import annotations

from dcert_shared.auth import Principal, Role
from dcert_shared.problems import Forbidden

from ..domain.errors import PartnerNotRegistered, SubscriptionNotFound


def _require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        # The title says it in the caller's language; the roles that may are named for programs.
        raise Forbidden(required_roles=sorted(roles))


def require_admin(principal: Principal) -> None:
    _require_role(principal, "admin")


def require_partner(principal: Principal) -> str:
    """The caller's partner id: what it reads and changes is this partner's only."""
    _require_role(principal, "partner")
    if not principal.partner_id:
        raise PartnerNotRegistered()
    return principal.partner_id


def delivery_reader(principal: Principal) -> str | None:
    """Whose deliveries a list shows: a partner's own; an admin's every one (None)."""
    if principal.role == "admin":
        return None
    return require_partner(principal)


def require_own_subscription(partner_id: str, owner: str | None) -> None:
    """A subscription a partner names is its own (`owner`: the subscription's partner, None when
    there is no such subscription)."""
    if owner != partner_id:
        raise SubscriptionNotFound()
