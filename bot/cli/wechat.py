"""`baoxiu wechat ...`: the Official Account menu, binding staff to WeCom, checking the credentials."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.app import App
from bot.cli.common import Command, print_json


def add_parsers(sub: Any) -> None:
    """wechat menu | bind | check."""
    wechat = sub.add_parser("wechat", help="WeChat Official Account and WeCom app")
    actions = wechat.add_subparsers(dest="action", required=True)
    menu = actions.add_parser(
        "menu", help="install the Official Account menu (我要报修 / 我的报修 / 联系物业)"
    )
    menu.add_argument("--show", action="store_true", help="print the menu without installing it")
    bind = actions.add_parser("bind", help="connect a member of staff to their WeCom account")
    bind.add_argument("name", help="the name they were registered with (baoxiu staff list)")
    bind.add_argument("--wecom-user", required=True, help="their WeCom userid (账号), from the admin console")
    actions.add_parser("check", help="fetch an access token for each configured app")


async def wechat_menu(app: App, args: argparse.Namespace) -> int:
    """Install (or show) the menu whose clicks are /repair, /mytickets and the office's contacts."""
    from bot.wechat.channel import WeChatChannel
    from bot.wechat.client import ApiError, TokenUnavailable, TransportError, errcode
    from bot.wechat.menu import install, menu

    language = app.settings.baoxiu_language
    if args.show:
        print_json(menu(language))
        return 0
    if not app.settings.has_wechat:
        print(
            "baoxiu: set WECHAT_APP_ID, WECHAT_APP_SECRET and WECHAT_TOKEN first (see .env.example).",
            file=sys.stderr,
        )
        return 2
    api = WeChatChannel.of(app).oa_api
    assert api is not None
    try:
        definition = await install(api, language)
    except ApiError as exc:
        print(
            f"baoxiu: WeChat refused the menu: {errcode(exc)} {getattr(exc, 'errmsg', '')}", file=sys.stderr
        )
        return 1
    except TokenUnavailable as exc:
        print(f"baoxiu: {exc}", file=sys.stderr)
        return 1
    except TransportError as exc:
        print(f"baoxiu: cannot reach WeChat: {type(exc).__name__}", file=sys.stderr)
        return 1
    names = " / ".join(button["name"] for button in definition["button"])
    print(f"Menu installed: {names}. Followers see it within a few minutes.")
    return 0


async def wechat_bind(app: App, args: argparse.Namespace) -> int:
    """Point a WeCom userid at a member of staff; offers and pings then go to the WeCom app."""
    from dispatch import staff

    async with app.db.transaction() as session:
        person = await staff.by_name(session, args.name)
        if person is None:
            print(
                f"baoxiu: no member of staff called {args.name!r} (see baoxiu staff list).", file=sys.stderr
            )
            return 1
        user = args.wecom_user.strip()
        await staff.bind_identity(session, person, "wecom", user, user, now=app.services.clock.now())
    print(f"{person.name} is now reached in the WeCom app as {user}.")
    return 0


async def wechat_check(app: App, args: argparse.Namespace) -> int:
    """Fetch a token for each configured app: proves the ids, secrets and IP allow-list are right; warn
    about template fields WeChat no longer shows (first, remark) or would cut."""
    from bot.wechat.channel import WeChatChannel
    from bot.wechat.client import TokenUnavailable, TransportError

    channel = WeChatChannel.of(app)
    apis = {"Official Account": channel.oa_api, "WeCom app": channel.work_api}
    if not any(apis.values()):
        print("baoxiu: no WeChat app is configured (WECHAT_APP_ID or WECOM_CORP_ID).", file=sys.stderr)
        return 2
    failed = 0
    for name, api in apis.items():
        if api is None:
            continue
        try:
            await api.tokens.renew()
        except TokenUnavailable as exc:
            failed += 1
            print(f"{name}: {'refused' if exc.errcode else 'unreachable'}, {exc}")
        except TransportError as exc:
            failed += 1
            print(f"{name}: unreachable, {type(exc).__name__}")
        else:
            print(f"{name}: OK, a new access token is cached for every worker")
    if channel.oa_api is not None:
        for warning in template_warnings(app):
            print(f"Official Account: warning: {warning}")
    return 1 if failed else 0


def template_warnings(app: App) -> list[str]:
    """What WeChat's 2023 template layout would hide or cut in the configured template fields."""
    from bot.wechat.templates import warnings

    s = app.settings
    found = [f"WECHAT_TEMPLATE_FIELDS {warning}" for warning in warnings(s.wechat_template_fields)]
    if not s.wechat_template_id:
        found.append(
            "WECHAT_TEMPLATE_ID is empty: a notice over the customer-service quota or after 48 hours "
            "can't reach the resident"
        )
    return found


COMMANDS: dict[str, Command] = {
    "wechat.menu": wechat_menu,
    "wechat.bind": wechat_bind,
    "wechat.check": wechat_check,
}
