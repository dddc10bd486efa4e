"""The operator's command line for dead letters (死信), against the service's database (DCERT_*).

    python -m dcert_notification.cli dead-letters list [--partner ID] [--subscription ID]
                                                       [--event-type T] [--since ISO] [--until ISO]
    python -m dcert_notification.cli dead-letters replay (--id WEBHOOK_ID ... | --partner ID ...)

`list` prints one JSON line per dead delivery (ids, type, tries, last status and error: never a
body or URL); `replay` makes the matching ones pending again, sent by the running service in
their original order with their original webhook-id, and prints how many.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import datetime

from dcert_shared.runtime import ServiceRuntime

from .adapters import deliveries, queries
from .adapters.deliveries import DeliveryFilter
from .bootstrap import create_app
from .settings import NotificationSettings


def _filter(args: argparse.Namespace) -> DeliveryFilter:
    return DeliveryFilter(
        ids=tuple(args.id) if args.id else None,
        partner_id=args.partner,
        subscription_id=args.subscription,
        event_type=args.event_type,
        status="dead",
        since=args.since,
        until=args.until,
    )


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m dcert_notification.cli", description="Dead letters")
    groups = parser.add_subparsers(dest="group", required=True)
    dead = groups.add_parser("dead-letters", help="deliveries given up after the last try")
    actions = dead.add_subparsers(dest="action", required=True)
    for name in ("list", "replay"):
        action = actions.add_parser(name)
        action.add_argument("--id", action="append", help="a webhook-id (repeatable)")
        action.add_argument("--partner")
        action.add_argument("--subscription")
        action.add_argument("--event-type")
        action.add_argument("--since", type=datetime.fromisoformat, help="queued at or after (ISO 8601)")
        action.add_argument("--until", type=datetime.fromisoformat, help="queued before (ISO 8601)")
        if name == "list":
            action.add_argument("--limit", type=int, default=200)
    args = parser.parse_args(argv)
    which = _filter(args)
    if args.action == "replay" and which == DeliveryFilter(status="dead"):
        parser.error("replay needs at least one criterion (--id, --partner, --subscription, ...)")

    app = create_app(NotificationSettings())  # type: ignore[call-arg]
    runtime: ServiceRuntime = app.state.runtime
    await runtime.open_store()
    try:
        if args.action == "list":
            for entry in await queries.deliveries(runtime.pool, which, args.limit):
                print(json.dumps(asdict(entry), default=str, ensure_ascii=False))
        else:
            print(json.dumps({"replayed": await deliveries.replay(runtime.pool, which)}))
    finally:
        await runtime.pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
