"""`baoxiu staff ...`: the staff registry for operators."""

from __future__ import annotations

import argparse
from typing import Any

from bot.app import App
from bot.cli.common import Command, print_json
from dispatch import staff


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def add_parsers(sub: Any) -> None:
    """staff add | list | set | invite."""
    staff_p = sub.add_parser("staff", help="technicians, supervisors, managers, customer service")
    actions = staff_p.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="register a member of staff")
    add.add_argument("--role", required=True, help="technician, supervisor, manager or cs")
    add.add_argument("--name", required=True)
    add.add_argument("--skills", help="comma-separated skills (technicians), e.g. plumbing_electric,hvac")
    add.add_argument("--areas", help="comma-separated areas served; empty = every area")
    add.add_argument("--telegram-id", help="their Telegram user id, if known (else use an invite)")
    add.add_argument("--capacity", type=int, default=8, help="jobs per day (technicians)")
    add.add_argument("--community", help="community code; empty = every community")
    listing = actions.add_parser("list", help="everyone registered")
    listing.add_argument("--json", action="store_true")
    setp = actions.add_parser("set", help="change someone")
    setp.add_argument("name")
    duty = setp.add_mutually_exclusive_group(required=True)
    duty.add_argument("--on-duty", dest="on_duty", action="store_true", default=None)
    duty.add_argument("--off-duty", dest="on_duty", action="store_false")
    inv = actions.add_parser("invite", help="a one-time link or code that binds someone's chat")
    inv.add_argument("--role", required=True)
    inv.add_argument("--name", required=True)
    inv.add_argument("--skills")
    inv.add_argument("--areas")
    inv.add_argument("--capacity", type=int, default=8)
    inv.add_argument("--bot-username", help="Telegram bot username for the deep link (without @)")


def _row(p: Any) -> dict[str, Any]:
    return {
        "name": p.name,
        "role": p.role,
        "skills": p.skills,
        "areas": p.areas,
        "on_duty": p.on_duty,
        "capacity": p.capacity,
        "community": p.community,
    }


async def staff_add(app: App, args: argparse.Namespace) -> int:
    """Register staff."""
    async with app.db.transaction() as session:
        try:
            person = await staff.add(
                session,
                role=staff.parse_role(args.role),
                name=args.name,
                now=app.services.clock.now(),
                skills=_split(args.skills),
                areas=_split(args.areas),
                capacity=args.capacity,
                community=args.community,
                telegram_id=args.telegram_id,
            )
        except staff.StaffError as exc:
            print(f"baoxiu: {exc}")
            return 1
    print(f"Added {person.role} {person.name}.")
    return 0


async def staff_list(app: App, args: argparse.Namespace) -> int:
    """Everyone registered."""
    async with app.db.transaction() as session:
        rows = [_row(p) for p in await staff.listing(session)]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        duty = ("on duty" if r["on_duty"] else "off duty") if r["role"] == "technician" else ""
        print(
            f"{r['name']:<12} {r['role']:<11} {','.join(r['skills']) or '-':<28} "
            f"{','.join(r['areas']) or 'all areas':<16} {duty}"
        )
    if not rows:
        print("No staff yet. Add someone with: baoxiu staff add --role technician --name 张师傅 --skills ...")
    return 0


async def staff_set(app: App, args: argparse.Namespace) -> int:
    """Duty on or off."""
    async with app.db.transaction() as session:
        person = await staff.by_name(session, args.name)
        if person is None:
            print(f"baoxiu: no staff member called {args.name!r}")
            return 1
        try:
            await staff.set_duty(session, person, bool(args.on_duty), app.services.clock.now())
        except staff.StaffError as exc:
            print(f"baoxiu: {exc}")
            return 1
    print(f"{args.name} is now {'on' if args.on_duty else 'off'} duty.")
    return 0


async def staff_invite(app: App, args: argparse.Namespace) -> int:
    """Create the person if needed and print a one-time code and deep link."""
    now = app.services.clock.now()
    async with app.db.transaction() as session:
        person = await staff.by_name(session, args.name)
        try:
            role = staff.parse_role(args.role)
            if person is None:
                person = await staff.add(
                    session,
                    role=role,
                    name=args.name,
                    now=now,
                    skills=_split(args.skills),
                    areas=_split(args.areas),
                    capacity=args.capacity,
                )
            elif person.role != role:
                print(f"baoxiu: {args.name} is already registered as {person.role}")
                return 1
            invite = await staff.invite(session, person, now)
        except staff.StaffError as exc:
            print(f"baoxiu: {exc}")
            return 1
    expires = invite.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    print(f"Invite for {person.name} ({person.role}), valid once until {expires}:")
    print(f"  code: {invite.code}   (in a private chat with the bot: /bind {invite.code})")
    if args.bot_username:
        print(f"  link: https://t.me/{args.bot_username.lstrip('@')}?start=inv_{invite.code}")
    return 0


COMMANDS: dict[str, Command] = {
    "staff.add": staff_add,
    "staff.list": staff_list,
    "staff.set": staff_set,
    "staff.invite": staff_invite,
}
