"""Intake, where: a saved address, building, unit and room from the site file, or a public place or pin."""

from __future__ import annotations

from dispatch.site import Unit, normalize_room
from handlers import consent as consent_notice
from handlers.context import Context
from handlers.intake.draft import Goto, Outcome, draft, next_after, save
from handlers.labels import address_label, display
from handlers.messages import Kind, ReplyKeyboard
from handlers.validate import (
    MAX_SHORT_TEXT,
    clean_text,
)
from storage.repositories import Addresses

ROOM_BUTTONS_MAX = 24


async def prompt_address(ctx: Context) -> None:
    """Offer saved addresses, another address, or a public area."""
    t, lang, community = ctx.t, ctx.t.language, ctx.community
    saved = [
        a for a in await Addresses(ctx.session).for_person(ctx.person.id) if a.community == community.code
    ]
    options = [(f"addr:{a.id}", address_label(community, a.building, a.unit, a.room, lang)) for a in saved]
    options.append(("new", t("Another address") if saved else t("My home (building, unit, room)")))
    options.append(("public", t("Public area (lobby, lift, garage, garden…)")))
    ctx.ask(consent_notice.with_notice(ctx, t("Where is the problem?"), options), options, columns=1)


async def handle_address(ctx: Context, value: str | None) -> Outcome:
    """Take a saved address, a choice, or a location pin (any of them agrees to the privacy notice)."""
    if value == consent_notice.DISAGREE:
        await consent_notice.refused(ctx)
        return True
    if ctx.inbound.kind == Kind.LOCATION:
        outcome = await _take_pin(ctx)
        if outcome is not False:
            consent_notice.agreed(ctx)
        return outcome
    if value is None:
        return False
    if value.startswith("addr:") and value[5:].isdigit():
        address = await Addresses(ctx.session).get(ctx.person.id, int(value[5:]))
        if address is None:
            return False
        consent_notice.agreed(ctx)
        save(
            ctx,
            {
                "scope": "in_unit",
                "building": address.building,
                "unit": address.unit,
                "room": address.room,
                "location_text": "",
                "latitude": None,
                "longitude": None,
            },
        )
        return next_after(ctx, "address")
    if value == "new":
        consent_notice.agreed(ctx)
        return Goto("building")
    if value == "public":
        consent_notice.agreed(ctx)
        return Goto("public_place")
    return False


async def prompt_building(ctx: Context) -> None:
    """Which building."""
    lang = ctx.t.language
    options = [(f"b:{b.code}", display(b, lang)) for b in ctx.community.buildings]
    ctx.ask(ctx.t("Which building?"), options, columns=3)


async def handle_building(ctx: Context, value: str | None) -> Outcome:
    """Take the building; skip the unit question when there is only one."""
    building = ctx.community.building(value[2:]) if value and value.startswith("b:") else None
    if building is None:
        return False
    save(ctx, {"building": building.code})
    if len(building.units) == 1:
        save(ctx, {"unit": building.units[0].code})
        return Goto("room")
    else:
        return Goto("unit")


def _building_and_unit(ctx: Context) -> tuple[object, object]:
    d = draft(ctx)
    building = ctx.community.building(d.get("building") or "")
    unit = building.unit(d.get("unit") or "") if building else None
    return building, unit


async def prompt_unit(ctx: Context) -> Goto | None:
    """Which unit of the chosen building."""
    building = ctx.community.building(draft(ctx).get("building") or "")
    if building is None:
        return Goto("building")
    options = [(f"u:{u.code}", display(u, ctx.t.language)) for u in building.units]
    options.append(("back", ctx.t("« Back")))
    ctx.ask(
        ctx.t("Which unit of {building}?", building=display(building, ctx.t.language)), options, columns=3
    )
    return None


async def handle_unit(ctx: Context, value: str | None) -> Outcome:
    """Take the unit."""
    if value == "back":
        return Goto("building")
    building = ctx.community.building(draft(ctx).get("building") or "")
    unit = building.unit(value[2:]) if building and value and value.startswith("u:") else None
    if unit is None:
        return False
    save(ctx, {"unit": unit.code})
    return Goto("room")


async def prompt_room(ctx: Context) -> Goto | None:
    """Room buttons for small units, else a typed room number."""
    d = draft(ctx)
    building = ctx.community.building(d.get("building") or "")
    unit = building.unit(d.get("unit") or "") if building else None
    if building is None or unit is None:
        return Goto("building")
    where = address_label(ctx.community, building.code, unit.code, None, ctx.t.language)
    if len(unit.rooms) <= ROOM_BUTTONS_MAX:
        options = [(f"r:{r}", r) for r in unit.rooms] + [("back", ctx.t("« Back"))]
        ctx.ask(ctx.t("Which room in {where}?", where=where), options, columns=4)
    else:
        ctx.ask(
            ctx.t(
                "Please type your room number in {where} (for example {example}).",
                where=where,
                example=unit.rooms[len(unit.rooms) // 2],
            ),
            [("back", ctx.t("« Back"))],
        )
    return None


async def handle_room(ctx: Context, value: str | None) -> Outcome:
    """Take a room from a button or typed, checked against the site file."""
    d = draft(ctx)
    building = ctx.community.building(d.get("building") or "")
    unit = building.unit(d.get("unit") or "") if building else None
    if building is None or unit is None:
        return Goto("building")
    if value == "back":
        return Goto("unit" if len(building.units) > 1 else "building")
    typed = value[2:] if value and value.startswith("r:") else ctx.inbound.text
    if ctx.inbound.kind not in (Kind.TEXT, Kind.BUTTON) or not typed.strip():
        return False
    room = room_in_unit(unit, typed)
    if room is None:
        where = address_label(ctx.community, building.code, unit.code, None, ctx.t.language)
        ctx.reply(
            ctx.t(
                "There is no room “{room}” in {where}. Please check the number and type it again.",
                room=clean_text(typed)[:20],
                where=where,
            )
        )
        return True
    save(ctx, {"scope": "in_unit", "room": room, "location_text": "", "latitude": None, "longitude": None})
    return next_after(ctx, "address")


async def prompt_public_place(ctx: Context) -> None:
    """Where in the public area, as text or a pin."""
    ctx.clear_choices()
    ctx.reply(
        ctx.t(
            "Where exactly? Type a short description (for example “Building 2, east entrance”) "
            "or send a location pin."
        ),
        keyboard=ReplyKeyboard.LOCATION,
        keyboard_label=ctx.t("📍 Send my location"),
    )


async def handle_public_place(ctx: Context, value: str | None) -> Outcome:
    """Take the place description or pin."""
    if ctx.inbound.kind == Kind.LOCATION:
        return await _take_pin(ctx)
    if ctx.inbound.kind != Kind.TEXT:
        return False
    text = clean_text(ctx.inbound.text)
    if not text:
        ctx.reply(ctx.t("Please type where the problem is."))
        return True
    if len(text) > MAX_SHORT_TEXT:
        ctx.reply(ctx.t("That is a bit long; please keep the place under {n} characters.", n=MAX_SHORT_TEXT))
        return True
    save(ctx, {"scope": "public", "building": None, "unit": None, "room": None, "location_text": text})
    return next_after(ctx, "address")


async def _take_pin(ctx: Context) -> Outcome:
    lat, lon = ctx.inbound.latitude, ctx.inbound.longitude
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return False
    d = draft(ctx)
    save(
        ctx,
        {
            "scope": "public",
            "building": None,
            "unit": None,
            "room": None,
            "latitude": lat,
            "longitude": lon,
            "location_text": d.get("location_text") or ctx.t("Location pin"),
        },
    )
    return next_after(ctx, "address")


def room_in_unit(unit: Unit, typed: str) -> str | None:
    """The site file's spelling of a typed room number, or None when the unit has no such room."""
    wanted = normalize_room(typed)
    if not wanted:
        return None
    return next((room for room in unit.rooms if normalize_room(room) == wanted), None)
