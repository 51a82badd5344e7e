"""`baoxiu assets list`: the site file's planned maintenance: place, skill, schedule, next due date."""

from __future__ import annotations

import argparse
from typing import Any

from bot.app import App
from bot.cli.common import Command, print_json


def add_parsers(sub: Any) -> None:
    """assets list."""
    assets = sub.add_parser("assets", help="planned maintenance").add_subparsers(dest="action", required=True)
    listing = assets.add_parser("list", help="assets from the site file and when each is next due")
    listing.add_argument("--community", help="only this community (its code)")
    listing.add_argument("--json", action="store_true")


async def assets_list(app: App, args: argparse.Namespace) -> int:
    """Every asset (of one community with --community), with its next due date in local time."""
    now = app.services.clock.now()
    communities = [c for c in app.site.communities if args.community in (None, c.code)]
    if args.community and not communities:
        print(f"baoxiu: no community {args.community!r} in the site file")
        return 2
    rows: list[dict[str, Any]] = []
    for community in communities:
        for asset in community.assets:
            following = asset.recurrence.next_id(now)
            due = asset.recurrence.due(following).astimezone(community.timezone)
            rows.append(
                {
                    "community": community.code,
                    "code": asset.code,
                    "name": asset.name,
                    "name_en": asset.name_en,
                    "building": asset.building,
                    "area": asset.area,
                    "skill": asset.skill,
                    "schedule": asset.schedule,
                    "within": str(asset.within),
                    "checks": [
                        {"item": c.item, "item_en": c.item_en, "unit": c.unit, "min": c.min, "max": c.max}
                        for c in asset.checks
                    ],
                    "next_due": due.isoformat(),
                }
            )
    if args.json:
        print_json(rows)
    elif not rows:
        print("No assets in the site file.")
    else:
        for row in rows:
            place = f"building {row['building']}" if row["building"] else f"area {row['area']}"
            print(
                f"{row['community']}/{row['code']}  {row['name']}  ({place}, {row['skill']})  "
                f"{row['schedule']}  next {row['next_due'][:16].replace('T', ' ')}  "
                f"{len(row['checks'])} checks"
            )
    return 0


COMMANDS: dict[str, Command] = {"assets.list": assets_list}
