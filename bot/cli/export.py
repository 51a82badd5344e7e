"""`baoxiu export tickets --from DATE --to DATE [--community C] --format csv|xlsx [--with-contacts]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.app import App
from bot.cli.common import Command
from dispatch import exports
from dispatch.figures import PeriodError, Scope, periods
from dispatch.privacy import audit
from handlers.i18n import Translator
from handlers.office.export import headers
from handlers.office.stats import period_problem


def add_parsers(sub: Any) -> None:
    """export tickets."""
    export = sub.add_parser("export", help="export data").add_subparsers(dest="action", required=True)
    tickets = export.add_parser("tickets", help="one row per ticket filed in a period (CSV or XLSX)")
    tickets.add_argument("--from", dest="first", required=True, metavar="DATE", help="first day, YYYY-MM-DD")
    tickets.add_argument("--to", dest="last", required=True, metavar="DATE", help="last day, YYYY-MM-DD")
    tickets.add_argument("--community", help="one community's code (default: every community)")
    tickets.add_argument("--format", choices=exports.FORMATS, default="csv")
    tickets.add_argument(
        "--with-contacts", action="store_true", help="add the resident's room and phone number (keep it safe)"
    )
    tickets.add_argument(
        "--output", help="file to write (default: CSV to standard output, XLSX to tickets-FROM-TO.xlsx)"
    )


async def export_tickets(app: App, args: argparse.Namespace) -> int:
    """Write the export; dates are each community's local days, at most a year, not in the future."""
    t = Translator(app.settings.baoxiu_language)
    site = app.site
    if args.community and site.community(args.community) is None:
        codes = ", ".join(c.code for c in site.communities)
        print(f"baoxiu: no community {args.community!r} (the site has {codes})", file=sys.stderr)
        return 2
    home = site.community(args.community or "") or site.default
    today = app.services.clock.now().astimezone(home.timezone).date()
    try:
        period = periods.between(periods.parse_day(args.first), periods.parse_day(args.last), today)
    except PeriodError as error:
        print("baoxiu: " + period_problem(error, t, "baoxiu export tickets --from/--to"), file=sys.stderr)
        return 2
    async with app.db.transaction() as session:
        rows = await exports.rows(
            session,
            site,
            Scope(community=args.community or None),
            period,
            with_contacts=args.with_contacts,
            language=t.language,
        )
        if args.with_contacts:
            now = app.services.clock.now()
            await audit.record_export(
                session, (r["number"] for r in rows), viewer_id=None, via="cli", now=now
            )
    keys = exports.columns(args.with_contacts)
    writer = exports.to_xlsx if args.format == "xlsx" else exports.to_csv
    data = await asyncio.to_thread(writer, rows, keys, headers(t))
    output = args.output or (f"tickets-{period.first}-{period.last}.xlsx" if args.format == "xlsx" else None)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    await asyncio.to_thread(Path(output).write_bytes, data)
    print(f"{len(rows)} tickets written to {output}", file=sys.stderr)
    return 0


COMMANDS: dict[str, Command] = {"export.tickets": export_tickets}
