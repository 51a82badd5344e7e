"""`baoxiu residents erase`: the office erases a resident who asked by phone (as /forgetme does in chat)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.app import App
from bot.cli.common import Command
from dispatch.privacy import erasure
from handlers.validate import mask_phone, normalize_phone


def add_parsers(sub: Any) -> None:
    """residents erase."""
    residents = sub.add_parser("residents", help="residents' data rights").add_subparsers(
        dest="action", required=True
    )
    erase = residents.add_parser("erase", help="erase a resident's personal data (they asked, e.g. by phone)")
    erase.add_argument("--phone", required=True, help="the phone number the resident gave")
    erase.add_argument("--yes", action="store_true", help="do not ask to confirm")


async def residents_erase(app: App, args: argparse.Namespace) -> int:
    """Find the resident(s) with this phone, say what goes, confirm, erase; open requests stop it."""
    phone = normalize_phone(args.phone)
    if phone is None:
        print(f"baoxiu: {args.phone!r} is not a phone number.", file=sys.stderr)
        return 2
    shown = mask_phone(phone)
    now = app.services.clock.now()
    async with app.db.transaction() as session:
        people = await erasure.people_by_phone(session, phone)
        if not people:
            print(f"No resident with phone {shown} (already erased, or never filed a request).")
            return 1
        if staff := [p for p in people if p.role != "resident"]:
            print(f"{shown} belongs to staff ({staff[0].role}); staff are removed with `baoxiu staff`.")
            return 1
        for person in people:
            if still_open := await erasure.open_tickets(session, person.id):
                print(
                    f"Resident #{person.id} still has open requests: {', '.join(still_open)}. "
                    "Erase once they are closed, or cancel them first."
                )
                return 1
        ids = ", ".join(f"#{p.id}" for p in people)
        print(
            f"Resident {ids} with phone {shown}: name, phone, rooms, addresses, chat accounts and photos go."
        )
        if not args.yes:
            print("Type yes to erase: ", end="", flush=True)
            if sys.stdin.readline().strip().lower() != "yes":
                print("Nothing erased.")
                return 1
        for person in people:
            done = await erasure.erase(session, app.services.media, person, now, actor_id=None)
            print(
                f"Erased resident #{person.id}: {done.tickets} requests kept without personal data, "
                f"{done.photos} photos, {len(done.files)} files, {done.addresses} addresses, "
                f"{done.identities} chat accounts removed."
            )
    return 0


COMMANDS: dict[str, Command] = {"residents.erase": residents_erase}
