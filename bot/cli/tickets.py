"""`baoxiu tickets ...`: the latest tickets, and one ticket's archived record."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.app import App
from bot.cli.common import Command, print_json
from dispatch.records import full_record, summary
from storage.repositories import Tickets


def add_parsers(sub: Any) -> None:
    """tickets list | show."""
    tickets = sub.add_parser("tickets", help="look at tickets").add_subparsers(dest="action", required=True)
    listing = tickets.add_parser("list", help="latest tickets")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--status")
    listing.add_argument("--limit", type=int, default=50)
    show = tickets.add_parser("show", help="one ticket with its event log")
    show.add_argument("number")
    show.add_argument("--json", action="store_true")


async def tickets_list(app: App, args: argparse.Namespace) -> int:
    """Latest tickets, newest first."""
    async with app.db.transaction() as session:
        tickets = await Tickets(session).listing(limit=args.limit, status=args.status)
        rows = [summary(t) for t in tickets]
    if args.json:
        print_json(rows)
    elif not rows:
        print("No tickets.")
    else:
        for row in rows:
            print(
                f"{row['number']}  {row['status']:<12} {row['category']:<12} {row['urgency']:<10} "
                f"{row['created_at']}"
            )
    return 0


async def tickets_show(app: App, args: argparse.Namespace) -> int:
    """One ticket with its event log."""
    async with app.db.transaction() as session:
        ticket = await Tickets(session).by_number(args.number)
        if ticket is None:
            print(f"No ticket {args.number}.", file=sys.stderr)
            return 1
        record = await full_record(session, ticket)
    if args.json:
        print_json(record)
        return 0
    print(f"{record['number']} [{record['status']}] {record['category']}/{record['urgency']}")
    print(f"  where: {record['address']}")
    print(f"  what:  {record['description']}")
    print(f"  photos: {len(record['photos'])}")
    for event in record["events"]:
        print(
            f"  {event['at']}  {event['kind']:<14} {event['from'] or '':>12} -> {event['to'] or ''}  "
            f"{event['actor'] or ''}"
        )
    return 0


COMMANDS: dict[str, Command] = {"tickets.list": tickets_list, "tickets.show": tickets_show}
