"""A terminal chat with the same handlers: `baoxiu console`.

Lines are messages; numbered choices are picked by number (or by their text). Special inputs:
/photo PATH, /file PATH, /location LAT LON, /contact PHONE, /voice, /sticker, /quit.
"""

from __future__ import annotations

import asyncio
import itertools
import shlex
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot.app import App
from bot.ops.web import WebServer
from bot.timer_loop import TimerLoop
from dispatch import staff
from dispatch.site.demo import seed_demo_staff
from handlers.messages import Choice, Identity, Inbound, Kind, Outbound, Photo
from storage.media import MediaStore
from storage.repositories import People

CHANNEL = "console"


class ConsoleDelivery:
    """Prints outbound messages and remembers the latest choices for number input."""

    def __init__(
        self, out: TextIO, current_chat: Callable[[], str] = lambda: "", media: MediaStore | None = None
    ) -> None:
        self.out = out
        self.media = media
        self.current_chat = current_chat
        self.choices: dict[str, list[Choice]] = {}
        self._ids = itertools.count(1)

    async def deliver(self, message: Outbound, edit_target: str | None) -> str | None:
        """Print one message."""
        if message.kind == "answer":
            if message.text:
                self._print(f"   ({message.text})")
            return None
        prefix = "🤖 (edited) " if message.kind == "edit" else "🤖 "
        if message.chat_id != self.current_chat():
            # Another persona's chat: shown so one terminal can play every role.
            prefix = f"   → [{message.chat_id.removeprefix('console:')}] " + prefix
        self._print(prefix + message.text.replace("\n", "\n   "))
        # A terminal shows no pictures: say where each photo and file is, to open it.
        for ref in [*message.photos, *(d.ref for d in message.documents)]:
            self._print(f"   [file: {self._where(ref)}]")
        flat = [choice for row in message.choices for choice in row]
        for number, choice in enumerate(flat, 1):
            self._print(f"   {number}) {choice.label}")
        # The newest message defines what a typed number picks.
        self.choices[message.chat_id] = flat
        if message.keyboard_label:
            self._print(f"   [{message.keyboard_label}: type /contact PHONE or /location LAT LON]")
        return edit_target or str(next(self._ids))

    def _where(self, ref: str) -> str:
        try:
            return str(self.media.path_for(ref).resolve()) if self.media else ref
        except (OSError, ValueError):
            return ref

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


class ConsoleChat:
    """Reads lines, turns them into inbound events for one persona, prints the replies."""

    def __init__(self, app: App, stdin: TextIO, stdout: TextIO, *, language: str = "") -> None:
        self.app = app
        self.stdin = stdin
        self.stdout = stdout
        self.language = language or app.settings.baoxiu_language
        self.delivery = ConsoleDelivery(stdout, lambda: self.chat_id, app.services.media)
        self.persona = "resident"
        self._session = uuid.uuid4().hex[:8]
        self._events = itertools.count(1)

    @property
    def chat_id(self) -> str:
        """The console chat of the current persona."""
        return f"console:{self.persona}"

    async def run(self) -> None:
        """The read-eval-print loop; ends at EOF or /quit."""
        self.app.channels[CHANNEL] = self.delivery
        self.stdout.write("Baoxiu console. Type 报修 to report a repair, /help for help, /quit to leave.\n")
        await self._prepare_staff()
        timers = TimerLoop(
            self.app.db, self.app.services, self.app.sender, self.app.settings.baoxiu_timer_interval
        )
        timers.start()
        web = await self._dashboard()
        try:
            await self._loop()
        finally:
            await timers.close()
            if web is not None:
                await web.stop()

    async def _dashboard(self) -> WebServer | None:
        """The web server, so that /dashboard's link opens here too (a taken port only turns it off)."""
        if not self.app.settings.baoxiu_dashboard:
            return None
        web = WebServer(self.app)
        try:
            await web.start()
        except OSError as exc:
            self.stdout.write(
                f"   (console: no dashboard: {web.host}:{web.port} is not free: {exc.strerror})\n"
            )
            return None
        return web

    async def _prepare_staff(self) -> None:
        """Demo staff on the demo site; every member of staff gets a console chat so offers show here."""
        now = self.app.services.clock.now()
        async with self.app.db.transaction() as session:
            added = []
            if self.app.settings.baoxiu_site_file is None:
                added = await seed_demo_staff(session, now)
            for person in await staff.listing(session):
                persona = f"{person.role}:{person.name}"
                if not await People(session).by_identity(CHANNEL, persona):
                    await staff.bind_identity(
                        session, person, CHANNEL, persona, f"console:{persona}", now=now
                    )
        if added:
            self.stdout.write(
                f"Demo staff added: {', '.join(added)}. Play them with /as technician 张师傅, "
                "/as supervisor 陈主管, back with /as resident.\n"
            )

    async def _loop(self) -> None:
        while True:
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                break
            line = line.rstrip("\n")
            if line.strip() in ("/quit", "/exit"):
                break
            if not line.strip():
                continue
            if line.strip().startswith("/as"):
                await self._switch(line.strip()[3:].strip())
                continue
            inbound = await self.inbound(line)
            if inbound is None:
                continue
            await self.app.router.handle(inbound)
            while await self.app.sender.run_once():
                pass

    async def _switch(self, spec: str) -> None:
        """/as resident | /as technician NAME | /as supervisor NAME (any staff role)."""
        role, _, name = spec.partition(" ")
        if role in ("", "resident"):
            self.persona = "resident"
            self.stdout.write("   (you are the resident again)\n")
            return
        async with self.app.db.transaction() as session:
            person = await staff.by_name(session, name.strip())
            if person is None or person.role != staff.parse_role(role):
                self.stdout.write(f"   (console: no {role} called {name.strip()!r}; see baoxiu staff list)\n")
                return
            persona = f"{person.role}:{person.name}"
            await staff.bind_identity(
                session, person, CHANNEL, persona, f"console:{persona}", now=self.app.services.clock.now()
            )
        self.persona = persona
        self.stdout.write(f"   (you are now {person.name}, {person.role})\n")

    async def inbound(self, line: str) -> Inbound | None:
        """Translate one typed line into an inbound event."""
        base: dict[str, Any] = {
            "identity": Identity(CHANNEL, self.persona),
            "chat_id": self.chat_id,
            "event_id": f"{self._session}-{next(self._events)}",
            "at": self.app.services.clock.now(),
            "language_code": self.language,
            "display_name": self.persona,
        }
        text = line.strip()
        choices = self.delivery.choices.get(self.chat_id, [])
        if text.isdigit() and 1 <= int(text) <= len(choices):
            return Inbound(kind=Kind.BUTTON, button=choices[int(text) - 1].data, **base)
        if not text.startswith("/"):
            return Inbound(kind=Kind.TEXT, text=line, **base)
        head, _, rest = text[1:].partition(" ")
        special = await self._special(head.lower(), rest.strip())
        if special is None:
            return Inbound(kind=Kind.COMMAND, command=head.lower(), args=rest, text=text, **base)
        if not isinstance(special, dict):
            return None
        return Inbound(**base, **special)

    async def _special(self, name: str, rest: str) -> dict[str, Any] | bool | None:
        """Console stand-ins for what a phone sends; None means an ordinary command."""
        try:
            if name in ("photo", "file"):
                path = Path(shlex.split(rest)[0])
                data = await asyncio.to_thread(path.read_bytes)
                if name == "file":
                    return {"kind": Kind.DOCUMENT}
                return {"kind": Kind.PHOTO, "photo": Photo(data=data, size=len(data), file_ref=str(path))}
            if name == "location":
                lat, lon = (float(v) for v in rest.replace(",", " ").split())
                return {"kind": Kind.LOCATION, "latitude": lat, "longitude": lon}
            if name == "contact":
                return {"kind": Kind.CONTACT, "phone": rest, "contact_is_own": True}
            if name == "voice":
                return {"kind": Kind.VOICE, "voice_ref": "console-voice"}
            if name == "sticker":
                return {"kind": Kind.STICKER}
        except (OSError, ValueError, IndexError) as exc:
            self.stdout.write(f"   (console: cannot do /{name} {rest}: {exc})\n")
            return False
        return None
