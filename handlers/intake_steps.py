"""Intake steps, first half: where (address), who to call (phone), what (description, tip).

Each step has a prompt (asks) and a handler (takes one event; returns False when it didn't fit).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers import intake as flow
from handlers import intake_finish as finish
from handlers.context import Context
from handlers.labels import address_label, display
from handlers.messages import Kind, ReplyKeyboard
from handlers.validate import (
    MAX_DESCRIPTION,
    MAX_SHORT_TEXT,
    clean_text,
    description_problem,
    normalize_phone,
)
from storage.repositories import Addresses

Prompt = Callable[[Context], Awaitable[None]]
Handler = Callable[[Context, str | None], Awaitable[bool]]
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
    ctx.ask(t("Where is the problem?"), options, columns=1)


async def handle_address(ctx: Context, value: str | None) -> bool:
    """Take a saved address, a choice, or a location pin."""
    if ctx.inbound.kind == Kind.LOCATION:
        return await _take_pin(ctx)
    if value is None:
        return False
    if value.startswith("addr:") and value[5:].isdigit():
        address = await Addresses(ctx.session).get(ctx.person.id, int(value[5:]))
        if address is None:
            return False
        flow.save(
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
        await flow.advance(ctx, "address")
        return True
    if value == "new":
        await flow.goto(ctx, "building")
        return True
    if value == "public":
        await flow.goto(ctx, "public_place")
        return True
    return False


async def prompt_building(ctx: Context) -> None:
    """Which building."""
    lang = ctx.t.language
    options = [(f"b:{b.code}", display(b, lang)) for b in ctx.community.buildings]
    ctx.ask(ctx.t("Which building?"), options, columns=3)


async def handle_building(ctx: Context, value: str | None) -> bool:
    """Take the building; skip the unit question when there is only one."""
    building = ctx.community.building(value[2:]) if value and value.startswith("b:") else None
    if building is None:
        return False
    flow.save(ctx, {"building": building.code})
    if len(building.units) == 1:
        flow.save(ctx, {"unit": building.units[0].code})
        await flow.goto(ctx, "room")
    else:
        await flow.goto(ctx, "unit")
    return True


def _building_and_unit(ctx: Context) -> tuple[object, object]:
    d = flow.draft(ctx)
    building = ctx.community.building(d.get("building") or "")
    unit = building.unit(d.get("unit") or "") if building else None
    return building, unit


async def prompt_unit(ctx: Context) -> None:
    """Which unit of the chosen building."""
    building = ctx.community.building(flow.draft(ctx).get("building") or "")
    if building is None:
        await flow.goto(ctx, "building")
        return
    options = [(f"u:{u.code}", display(u, ctx.t.language)) for u in building.units]
    options.append(("back", ctx.t("« Back")))
    ctx.ask(
        ctx.t("Which unit of {building}?", building=display(building, ctx.t.language)), options, columns=3
    )


async def handle_unit(ctx: Context, value: str | None) -> bool:
    """Take the unit."""
    if value == "back":
        await flow.goto(ctx, "building")
        return True
    building = ctx.community.building(flow.draft(ctx).get("building") or "")
    unit = building.unit(value[2:]) if building and value and value.startswith("u:") else None
    if unit is None:
        return False
    flow.save(ctx, {"unit": unit.code})
    await flow.goto(ctx, "room")
    return True


async def prompt_room(ctx: Context) -> None:
    """Room buttons for small units, else a typed room number."""
    d = flow.draft(ctx)
    building = ctx.community.building(d.get("building") or "")
    unit = building.unit(d.get("unit") or "") if building else None
    if building is None or unit is None:
        await flow.goto(ctx, "building")
        return
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


async def handle_room(ctx: Context, value: str | None) -> bool:
    """Take a room from a button or typed, checked against the site file."""
    d = flow.draft(ctx)
    building = ctx.community.building(d.get("building") or "")
    unit = building.unit(d.get("unit") or "") if building else None
    if building is None or unit is None:
        await flow.goto(ctx, "building")
        return True
    if value == "back":
        await flow.goto(ctx, "unit" if len(building.units) > 1 else "building")
        return True
    typed = value[2:] if value and value.startswith("r:") else ctx.inbound.text
    if ctx.inbound.kind not in (Kind.TEXT, Kind.BUTTON) or not typed.strip():
        return False
    room = flow.room_in_unit(unit, typed)
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
    flow.save(
        ctx, {"scope": "in_unit", "room": room, "location_text": "", "latitude": None, "longitude": None}
    )
    await flow.advance(ctx, "address")
    return True


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


async def handle_public_place(ctx: Context, value: str | None) -> bool:
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
    flow.save(ctx, {"scope": "public", "building": None, "unit": None, "room": None, "location_text": text})
    await flow.advance(ctx, "address")
    return True


async def _take_pin(ctx: Context) -> bool:
    lat, lon = ctx.inbound.latitude, ctx.inbound.longitude
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return False
    d = flow.draft(ctx)
    flow.save(
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
    await flow.advance(ctx, "address")
    return True


async def prompt_phone(ctx: Context) -> None:
    """A number the technician can call: saved, shared or typed."""
    t = ctx.t
    # Typing works on every app; where the app has a share-contact button it appears under the question.
    text = t("Which phone number can the technician call? Please type the number.")
    if ctx.person.phone:
        ctx.ask(
            text,
            [("saved", t("Use {phone}", phone=ctx.person.phone))],
            keyboard=ReplyKeyboard.CONTACT,
            keyboard_label=t("📱 Share my phone number"),
        )
    else:
        ctx.clear_choices()
        ctx.reply(text, keyboard=ReplyKeyboard.CONTACT, keyboard_label=t("📱 Share my phone number"))


async def handle_phone(ctx: Context, value: str | None) -> bool:
    """Take a shared contact, the saved number, or a typed number."""
    if value == "saved" and ctx.person.phone:
        phone: str | None = ctx.person.phone
    elif ctx.inbound.kind == Kind.CONTACT:
        phone = normalize_phone(ctx.inbound.phone)
    elif ctx.inbound.kind == Kind.TEXT:
        phone = normalize_phone(ctx.inbound.text)
    else:
        return False
    if phone is None:
        ctx.reply(
            ctx.t(
                "That doesn't look like a phone number. Please type a mobile number such as "
                "13812345678, or a landline with its area code such as 0755-12345678."
            )
        )
        return True
    ctx.person.phone = phone
    flow.save(ctx, {"phone": phone})
    await flow.advance(ctx, "phone")
    return True


async def prompt_description(ctx: Context) -> None:
    """What is wrong, in words."""
    ctx.clear_choices()
    ctx.reply(
        ctx.t(
            "Please describe the problem in a few words: what is broken, where, and since when. "
            "You may add a voice message too."
        ),
        keyboard=ReplyKeyboard.REMOVE,
    )


async def handle_description(ctx: Context, value: str | None) -> bool:
    """Take the description (a voice note or photo is kept and the words still asked for)."""
    t, kind = ctx.t, ctx.inbound.kind
    if kind == Kind.VOICE:
        flow.save(ctx, {"voice_ref": ctx.inbound.voice_ref})
        ctx.reply(
            t(
                "Voice message attached. Please also type a short description, so we send the right "
                "technician."
            )
        )
        return True
    if kind == Kind.PHOTO:
        if await finish.take_photo(ctx, quiet=True):
            ctx.reply(t("Photo kept. Please also describe the problem in words."))
        return True
    if kind != Kind.TEXT:
        return False
    problem = description_problem(ctx.inbound.text)
    if problem in ("empty", "short"):
        ctx.reply(t("Please describe the problem in a few words."))
        return True
    if problem == "long":
        ctx.reply(
            t(
                "That description is {n} characters long; please keep it under {max} characters, "
                "the technician reads it on a phone.",
                n=len(ctx.inbound.text),
                max=MAX_DESCRIPTION,
            )
        )
        return True
    text = clean_text(ctx.inbound.text)
    suggestion = ctx.community.suggest(text)
    flow.save(ctx, {"description": text, "category": suggestion.category, "urgency": suggestion.urgency})
    tip = ctx.community.tip_for(suggestion.category, text) if suggestion.category else None
    if tip is not None and not flow.draft(ctx).get("editing"):
        await flow.goto(ctx, "tip")
    else:
        await flow.goto(ctx, "classify")
    return True


async def prompt_tip(ctx: Context) -> None:
    """A self-check that often solves the problem without a visit."""
    d = flow.draft(ctx)
    tip = ctx.community.tip_for(d.get("category") or "", d.get("description") or "")
    if tip is None:
        await flow.goto(ctx, "classify")
        return
    text = tip.text_en if ctx.t.language == "en" and tip.text_en else tip.text
    ctx.ask(
        ctx.t("Before we send someone, a quick check that often helps:") + "\n\n" + text,
        [("solved", ctx.t("That fixed it")), ("continue", ctx.t("I still need a repair"))],
        columns=1,
    )


async def handle_tip(ctx: Context, value: str | None) -> bool:
    """Solved (nothing filed) or go on."""
    if value == "solved":
        from handlers.common import end_dialog

        end_dialog(ctx)
        ctx.reply(ctx.t("Glad it's sorted! Nothing was filed. Send 报修 or /repair any time you need us."))
        return True
    if value == "continue":
        await flow.goto(ctx, "classify")
        return True
    return False


PROMPTS: dict[str, Prompt] = {
    "address": prompt_address,
    "building": prompt_building,
    "unit": prompt_unit,
    "room": prompt_room,
    "public_place": prompt_public_place,
    "phone": prompt_phone,
    "description": prompt_description,
    "tip": prompt_tip,
    **finish.PROMPTS,
}
HANDLERS: dict[str, Handler] = {
    "address": handle_address,
    "building": handle_building,
    "unit": handle_unit,
    "room": handle_room,
    "public_place": handle_public_place,
    "phone": handle_phone,
    "description": handle_description,
    "tip": handle_tip,
    **finish.HANDLERS,
}
