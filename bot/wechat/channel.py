"""The WeChat side of one bot process: callback routes, deliveries, token caches, and the web server.

`WeChatChannel.of(app)` builds everything once per App from its settings and registers the deliveries in
`app.channels` ("wechat" for the Official Account, "wecom" for the WeCom app, "wecom-robot" for the group
robot). `wechat_routes` gives the web app (bot/ops/web.py) the callback routes; bot/channels.py runs it.
"""

from __future__ import annotations

import logging

from pydantic import SecretStr
from sqlalchemy import delete
from starlette.routing import BaseRoute, Route

from bot.app import App
from bot.wechat import oa, work
from bot.wechat.callback import CallbackCore
from bot.wechat.chats import CardStore, ChatStore
from bot.wechat.client import Api, OAClient, RobotClient, WorkClient, fetch_token
from bot.wechat.inbound import InboundTranslator
from bot.wechat.media import PhotoFetcher
from bot.wechat.oa_outbound import OA, ROBOT, WECOM, OfficialAccountDelivery
from bot.wechat.pacing import wecom_limits
from bot.wechat.token import TokenCache
from bot.wechat.wecom_outbound import RobotDelivery, WeComDelivery
from dispatch import staff
from storage.models import GroupBinding

log = logging.getLogger(__name__)


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def configured(app: App) -> bool:
    """True when any WeChat app (Official Account, WeCom app, group robot) is set up."""
    s = app.settings
    return s.has_wechat or s.has_wecom or s.wecom_robot_webhook is not None


class WeChatChannel:
    """Everything WeChat in one process, built from the App's settings."""

    def __init__(self, app: App) -> None:
        s, services = app.settings, app.services
        clock = services.clock
        self.app = app
        self.chats = ChatStore(app.db, clock)
        self.cards = CardStore(app.db, clock)
        self.cores: list[CallbackCore] = []
        self.route_list: list[BaseRoute] = []
        self.oa_api: Api | None = None
        self.work_api: Api | None = None
        max_bytes = s.baoxiu_max_photo_mb * 1024 * 1024
        if s.has_wechat:
            oa_client = OAClient(s.wechat_app_id, _secret(s.wechat_app_secret), s.wechat_api_base_url)
            oa_tokens = TokenCache(app.db, clock, f"oa:{s.wechat_app_id}", lambda: fetch_token(oa_client))
            self.oa_api = Api(oa_client, oa_tokens)
            oa_core = self._core(
                OA,
                InboundTranslator(OA, self.chats, PhotoFetcher(self.oa_api, max_bytes), clock.now),
                quotas=True,
            )
            callback = oa.OfficialAccountCallback(
                oa_core, _secret(s.wechat_token), _secret(s.wechat_aes_key) or None, s.wechat_app_id
            )
            self.route_list.append(Route(oa.PATH, callback.endpoint, methods=["GET", "POST"]))
            oa_delivery = OfficialAccountDelivery(
                self.oa_api,
                app.db,
                clock,
                services.media,
                self.chats,
                language=s.baoxiu_language,
                template_id=s.wechat_template_id,
                template_fields=s.wechat_template_fields,
                msgmenu=s.wechat_msgmenu,
                timezone=app.site.default.timezone,
            )
            oa_delivery.channel_ref = self
            app.channels[OA] = oa_delivery
        if s.has_wecom:
            assert s.wecom_agent_id is not None
            work_client = WorkClient(
                s.wecom_corp_id, _secret(s.wecom_secret), s.wecom_agent_id, s.wecom_api_base_url
            )
            key = f"wecom:{s.wecom_corp_id}:{s.wecom_agent_id}"
            work_tokens = TokenCache(app.db, clock, key, lambda: fetch_token(work_client))
            self.work_api = Api(work_client, work_tokens)
            fetch = PhotoFetcher(self.work_api, max_bytes)
            work_core = self._core(WECOM, InboundTranslator(WECOM, self.chats, fetch, clock.now))
            work_callback = work.WorkCallback(
                work_core,
                self.cards,
                _secret(s.wecom_token),
                _secret(s.wecom_aes_key),
                s.wecom_corp_id,
                s.wecom_agent_id,
            )
            self.route_list.append(Route(work.PATH, work_callback.endpoint, methods=["GET", "POST"]))
            work_delivery = WeComDelivery(
                self.work_api,
                app.db,
                clock,
                services.media,
                self.chats,
                self.cards,
                language=s.baoxiu_language,
            )
            work_delivery.channel_ref = self
            app.channels[WECOM] = work_delivery
            app.sender.limits[WECOM] = wecom_limits(s.wecom_member_per_minute, s.wecom_member_per_hour)
        if s.wecom_robot_webhook is not None:
            app.channels[ROBOT] = RobotDelivery(RobotClient(_secret(s.wecom_robot_webhook)))

    def _core(self, channel: str, translator: InboundTranslator, *, quotas: bool = False) -> CallbackCore:
        app = self.app
        core = CallbackCore(
            channel,
            app.db,
            app.router,
            translator,
            self.chats,
            app.services.clock.now,
            app.settings.baoxiu_language,
            app.sender.wake,
            app.inbox,
            quotas=quotas,
        )
        self.cores.append(core)
        return core

    @classmethod
    def of(cls, app: App) -> WeChatChannel:
        """The App's WeChat channel, built and attached on first use."""
        for name in (OA, WECOM):
            owner = getattr(app.channels.get(name), "channel_ref", None)
            if isinstance(owner, WeChatChannel):
                return owner
        return cls(app)

    def routes(self) -> list[BaseRoute]:
        """The callback endpoints: /wechat/oa and /wechat/work."""
        return list(self.route_list)

    async def prepare(self) -> None:
        """Make the group robot (when set) a supervisors' group of every community: escalations reach it."""
        now = self.app.services.clock.now()
        async with self.app.db.transaction() as session:
            if self.app.settings.wecom_robot_webhook is None:
                await session.execute(delete(GroupBinding).where(GroupBinding.channel == ROBOT))
                return
            for community in self.app.site.communities:
                await staff.bind_group(
                    session, community.code, ROBOT, "supervisors", "robot", by=None, now=now
                )

    async def close(self) -> None:
        """Let callbacks still being handled finish; close the HTTP connections."""
        for core in self.cores:
            await core.close()
        for api in (self.oa_api, self.work_api):
            if api is not None:
                api.client._http.close()


def wechat_routes(app: App) -> list[BaseRoute]:
    """The WeChat callbacks for the web app, when an app is configured."""
    if not (app.settings.has_wechat or app.settings.has_wecom):
        return []
    return WeChatChannel.of(app).routes()
