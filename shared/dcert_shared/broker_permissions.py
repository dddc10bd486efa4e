"""Who may do what on the broker: a NATS user per service, one per partner agency, an operator.

A service publishes only its own events, its access-log rows and its dead letters; through the
JetStream API it keeps only its own streams and reads only the streams it consumes; its replies
come on an inbox no other user can read (`_INBOX.<user>.>`, see `broker.connect`). A partner
publishes only its facts, `partners.events.<partner id>.>`. The operator (tests, tools, an
administrator) may do anything.

The same rules write the embedded server's configuration (`dcert_dev.embedded`) and the
production one (`deploy/nats/users.conf`: `python -m dcert_shared.broker_permissions`), so what
the tests prove is what production enforces, with two differences that runs under a test prefix
(`broker.Naming`) force:
- subjects also match behind one prefix token (`*.certificate.events.>` beside
  `certificate.events.>`);
- the prefix is part of every stream name (`T3F9A1_CERTIFICATE_EVENTS`), which is one token of
  the JetStream API subjects, and NATS wildcards match whole tokens only: there the embedded
  server allows any stream (`*`) where production names each one.
Durable consumer names (`<service>-<reaction>`) are one token too: a service may work the
durable consumers of *every* service on a stream it consumes (not only its own).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from .broker import Naming, inbox_prefix

OPERATOR: Final = "operator"
# Not bounded contexts of a service, and named here to keep this module free of the runtime:
# `dcert_shared.access_relay.ACCESS_CONTEXT`, the erasing context and stream of
# `dcert_shared.erasure`, the intake stream the benefits service keeps for partner agencies.
ACCESS_LOG: Final = "accesslog"
ERASING_CONTEXT: Final = "certificate"
ERASURES_STREAM: Final = "ERASURES"
PARTNERS: Final = "partners"

_PRODUCTION = Naming()
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class ServiceAccess:
    """What one service keeps and reads on the broker: its context, the intake streams it keeps
    for others to publish into, and the contexts whose streams it consumes."""

    service: str
    context: str
    consumes: tuple[str, ...]
    intake: tuple[str, ...] = ()


# Every service consumes the certificate stream at least for `PersonErased` (dcert_shared.erasure).
SERVICES: Final = (
    ServiceAccess("certificate", "certificate", consumes=("assessment", "benefits", ACCESS_LOG)),
    ServiceAccess("assessment", "assessment", consumes=("certificate",)),
    ServiceAccess(
        "benefits", "benefits", consumes=("certificate", "notification", PARTNERS), intake=(PARTNERS,)
    ),
    ServiceAccess("notification", "notification", consumes=("certificate", "assessment", "benefits")),
)
# Contexts whose event subjects only their own publisher may use.
EVENT_CONTEXTS: Final = tuple(access.context for access in SERVICES) + (PARTNERS,)


@dataclass(frozen=True)
class Partner:
    """A partner agency that publishes facts over NATS: its id (as `POST /v1/partners` gave it)
    and a short label that names its user (`partner-<label>`) and its password's variable."""

    partner_id: str
    label: str

    def __post_init__(self) -> None:
        for value in (self.partner_id, self.label):
            if not _TOKEN.fullmatch(value):
                raise ValueError(f"not usable in a NATS subject or user name: {value!r}")

    @property
    def user(self) -> str:
        return f"partner-{self.label}"


@dataclass(frozen=True)
class Permissions:
    publish_allow: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()
    subscribe_allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class BrokerUser:
    """One user of the server's `authorization` block; `password` is the password itself
    (embedded) or a `$VARIABLE` the server reads from its environment (production); no
    permissions: everything."""

    name: str
    password: str
    permissions: Permissions | None
    comment: str = ""


@dataclass(frozen=True)
class _Names:
    """Subjects and stream names as the permissions spell them: production's, or with room for
    a test prefix."""

    prefixed: bool
    naming: Naming = field(default=_PRODUCTION)

    def subjects(self, subject: str) -> list[str]:
        return [subject, f"*.{subject}"] if self.prefixed else [subject]

    def _stream(self, name: str) -> str:
        return "*" if self.prefixed else name

    def events(self, context: str) -> str:
        return self._stream(self.naming.event_stream(context))

    def dead_letters(self, service: str) -> str:
        return self._stream(self.naming.dead_letter_stream(service))

    def erasures(self) -> str:
        return self._stream(ERASURES_STREAM)


def _keeping(stream: str) -> list[str]:
    """A stream the service makes again whenever it is missing (ADR 0008)."""
    return [f"$JS.API.STREAM.{verb}.{stream}" for verb in ("CREATE", "UPDATE", "INFO")]


def _reading(stream: str) -> list[str]:
    return [f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.STREAM.MSG.GET.{stream}"]


def _pruning(stream: str) -> list[str]:
    """The relay reconciles with the stream's last message; pruning purges what every durable
    consumer has acknowledged (dcert_shared.pruning)."""
    return [*_reading(stream), f"$JS.API.STREAM.PURGE.{stream}", f"$JS.API.CONSUMER.LIST.{stream}"]


def _consuming(stream: str) -> list[str]:
    """Durable pull consumers on `stream`: made (the named and the older API), checked, fetched
    from, acknowledged, and obsolete ones deleted (dcert_shared.runtime)."""
    return [
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.*",
        f"$JS.API.CONSUMER.INFO.{stream}.*",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*",
        f"$JS.API.CONSUMER.DELETE.{stream}.*",
        f"$JS.API.CONSUMER.LIST.{stream}",
        f"$JS.ACK.{stream}.>",
    ]


def service_permissions(access: ServiceAccess, *, prefixed: bool = False) -> Permissions:
    """`access.service` publishes its own subjects and works its own streams and those it
    consumes; other contexts' event subjects are denied outright."""
    names = _Names(prefixed)
    kept = [names.events(context) for context in (access.context, *access.intake)]
    kept += [names.events(ACCESS_LOG), names.dead_letters(access.service)]
    if access.context == ERASING_CONTEXT:
        kept.append(names.erasures())
    publish = [
        *names.subjects(f"{access.context}.events.>"),
        *names.subjects(f"{ACCESS_LOG}.events.AccessRecorded"),
        *names.subjects(f"deadletter.{access.service}.*"),
        *(subject for stream in kept for subject in _keeping(stream)),
        *_pruning(names.events(access.context)),
        *_reading(names.events(ACCESS_LOG)),  # the access-log relay finds its last row there
        *_reading(names.erasures()),  # every start re-applies the erasures (dcert_shared.erasure)
        *(subject for context in access.consumes for subject in _consuming(names.events(context))),
    ]
    denied = [
        subject
        for context in EVENT_CONTEXTS
        if context != access.context
        for subject in names.subjects(f"{context}.events.>")
    ]
    return Permissions(_unique(publish), _unique(denied), (f"{inbox_prefix(access.service)}.>",))


def partner_permissions(partner: Partner, *, prefixed: bool = False) -> Permissions:
    """A partner publishes its own facts (the benefits service believes the partner id of the
    subject) and reads the JetStream acknowledgements on its own inbox."""
    names = _Names(prefixed)
    return Permissions(
        tuple(names.subjects(f"{PARTNERS}.events.{partner.partner_id}.>")),
        subscribe_allow=(f"{inbox_prefix(partner.user)}.>",),
    )


def _unique(subjects: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(subjects))


def embedded_users(
    passwords: Mapping[str, str], partners: Sequence[Partner] = (), *, prefixed: bool = True
) -> list[BrokerUser]:
    """The users of an embedded server, with the passwords kept in its data folder."""
    return [
        BrokerUser(OPERATOR, passwords[OPERATOR], None),
        *(
            BrokerUser(
                access.service, passwords[access.service], service_permissions(access, prefixed=prefixed)
            )
            for access in SERVICES
        ),
        *(
            BrokerUser(partner.user, passwords[partner.user], partner_permissions(partner, prefixed=prefixed))
            for partner in partners
        ),
    ]


def user_names(partners: Sequence[Partner] = ()) -> list[str]:
    return [OPERATOR, *(access.service for access in SERVICES), *(partner.user for partner in partners)]


def password_variable(user: str) -> str:
    """The environment variable a production server reads `user`'s password from."""
    return "DCERT_NATS_" + user.upper().replace("-", "_") + "_PASSWORD"


def production_users(partners: Sequence[Partner] = ()) -> list[BrokerUser]:
    """The users of a production server; every password comes from its environment."""
    return [
        BrokerUser(OPERATOR, f"${password_variable(OPERATOR)}", None, "administrators and their tools"),
        *(
            BrokerUser(access.service, f"${password_variable(access.service)}", service_permissions(access))
            for access in SERVICES
        ),
        *(
            BrokerUser(
                partner.user,
                f"${password_variable(partner.user)}",
                partner_permissions(partner),
                f"partner agency {partner.partner_id}; its client's inbox prefix: {inbox_prefix(partner.user)}",
            )
            for partner in partners
        ),
    ]


def authorization_block(users: Sequence[BrokerUser]) -> str:
    """The `authorization { users: [...] }` block of a nats-server configuration."""
    lines = ["authorization {", "  users: ["]
    for user in users:
        lines += ["    {"]
        if user.comment:
            lines += [f"      # {user.comment}"]
        lines += [f"      user: {json.dumps(user.name)}"]
        password = user.password if user.password.startswith("$") else json.dumps(user.password)
        lines += [f"      password: {password}"]
        if user.permissions is not None:
            lines += ["      permissions: {", *_permission_lines(user.permissions), "      }"]
        lines += ["    }"]
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def _permission_lines(permissions: Permissions) -> list[str]:
    def listed(key: str, subjects: Sequence[str]) -> list[str]:
        return [f"          {key}: [", *(f"            {json.dumps(s)}" for s in subjects), "          ]"]

    lines = ["        publish: {", *listed("allow", permissions.publish_allow)]
    if permissions.publish_deny:
        lines += listed("deny", permissions.publish_deny)
    lines += ["        }", "        subscribe: {", *listed("allow", permissions.subscribe_allow), "        }"]
    return lines


HEADER = """\
# The broker's users and what each may do (dcert_shared.broker_permissions), included by the
# production configurations. Written by the command below: change the rules there, not here.
# Passwords come from the server's environment (DCERT_NATS_<USER>_PASSWORD), never from a file.
# A partner agency that publishes its facts over NATS gets a user of its own: write the file
# again with `--partner <partner id>=<label>` (password DCERT_NATS_PARTNER_<LABEL>_PASSWORD).
"""


def production_file(partners: Sequence[Partner]) -> str:
    """deploy/nats/users.conf for these partner agencies, with the command that writes it."""
    command = "python -m dcert_shared.broker_permissions" + "".join(
        f" --partner {partner.partner_id}={partner.label}" for partner in partners
    )
    return f"{HEADER}#   {command}\n{authorization_block(production_users(partners))}"


def _partner(text: str) -> Partner:
    partner_id, sep, label = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected <partner id>=<label>, got {text!r}")
    try:
        return Partner(partner_id, label)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dcert_shared.broker_permissions",
        description="Print the production users.conf: the services, the operator and these partners.",
    )
    parser.add_argument(
        "--partner",
        action="append",
        type=_partner,
        default=[],
        metavar="ID=LABEL",
        help="a partner agency that publishes facts over NATS (repeatable); its user is partner-LABEL",
    )
    args = parser.parse_args(argv)
    sys.stdout.write(production_file(args.partner))
    return 0


if __name__ == "__main__":
    sys.exit(main())
