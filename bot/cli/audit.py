"""`baoxiu audit [--ticket NUMBER] [--since DATE] [--json]`: who among the staff saw residents' contacts."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from typing import Any

from bot.app import App
from bot.cli.common import Command, print_json
from dispatch.privacy import audit
from storage.repositories import Tickets


def add_parsers(sub: Any) -> None:
    """audit."""
    p = sub.add_parser("audit", help="who among the staff was shown residents' phone numbers or rooms")
    p.add_argument("--ticket", help="one ticket's number")
    p.add_argument("--since", help="from this day on (YYYY-MM-DD, UTC)")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--json", action="store_true")


async def audit_list(app: App, args: argparse.Namespace) -> int:
    """The newest showings first."""
    try:
        since = (
            datetime.combine(date.fromisoformat(args.since), datetime.min.time(), UTC) if args.since else None
        )
    except ValueError:
        print(f"baoxiu: --since {args.since!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    async with app.db.transaction() as session:
        ticket_id = None
        if args.ticket:
            ticket = await Tickets(session).by_number(args.ticket)
            if ticket is None:
                print(f"No ticket {args.ticket}.", file=sys.stderr)
                return 1
            ticket_id = ticket.id
        rows = await audit.entries(session, ticket_id=ticket_id, since=since, limit=args.limit)
    if args.json:
        print_json(
            [
                {
                    "at": r.at.isoformat(),
                    "ticket": r.number,
                    "viewer": r.viewer or None,
                    "role": r.role or None,
                    "what": r.what,
                    "fields": r.fields,
                    "via": r.via,
                }
                for r in rows
            ]
        )
    elif not rows:
        print("Nobody was shown residents' contact details.")
    else:
        for r in rows:
            who = f"{r.viewer} ({r.role})" if r.viewer else "(command line)"
            when = r.at.isoformat(timespec="seconds")
            print(f"{when}  {r.number}  {who}  {r.what}  {','.join(r.fields)}  {r.via}")
    return 0


COMMANDS: dict[str, Command] = {"audit": audit_list}
