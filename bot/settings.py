"""Settings from the environment and `.env`, checked once at start-up."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from dispatch.digests import Settings as DigestSettings
from dispatch.policy import Policy
from dispatch.privacy.retention import Retention


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it."""


class Settings(BaseSettings):
    """Everything an operator can set; field names are the environment variable names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_file_base_url: str = "https://api.telegram.org/file/bot"
    telegram_technicians_chat_id: int | None = None
    telegram_supervisors_chat_id: int | None = None
    # Webhook mode (production): Telegram POSTs updates to this https URL; its path is served by the web app.
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    # Telegram's flood limits, enforced across all workers (0 turns one off): at most so many messages in any
    # second in all and in any minute per group, bursts included (hard ceilings, below Telegram's 30 and 20
    # for network jitter); a second per private chat (with a small burst).
    telegram_rate_overall: float = Field(default=25.0, ge=0, le=1000)
    telegram_rate_chat: float = Field(default=1.0, ge=0, le=100)
    telegram_rate_chat_burst: int = Field(default=2, ge=1, le=20)
    telegram_rate_group_per_minute: float = Field(default=18.0, ge=0, le=600)
    # Bot API calls a worker has in flight at once. Each costs CPU in proportion to how many are open
    # (httpcore checks every pooled connection on every call), so keep it small; 8 carries ~30 messages a
    # second up to 250 ms round trips. Raise it when Telegram is farther away than that.
    telegram_connections: int = Field(default=8, ge=1, le=256)
    # Seconds a Bot API send may take before the bot stops waiting for the answer. A send that timed out
    # after it reached Telegram may have been delivered: it is not sent again (see README "Delivery").
    telegram_send_timeout: float = Field(default=10.0, gt=0, le=300)
    # Delivery: a worker's hold on a chat it is sending to; another worker takes over after this long.
    baoxiu_outbox_lease: float = Field(default=60.0, ge=1, le=3600)
    # This worker's name in the outbox's leases; a restarted worker takes back the chats its predecessor of
    # the same name held at once. Empty: host name and web port. Never the same for two running workers.
    baoxiu_worker_id: str = Field(default="", max_length=100)
    # The inbox (webhooks, WeChat callbacks): events handled at once per worker (the rest wait, stored, so the
    # answers to new ones never queue behind them), and seconds before another worker takes a dead one's.
    baoxiu_inbox_concurrency: int | None = Field(default=None, ge=1, le=256)  # None: by backend (inbox_slots)
    baoxiu_inbox_lease: float = Field(default=60.0, ge=5, le=3600)
    # Inbound flood control per sender: a burst, then so many events a minute (0 turns it off).
    baoxiu_flood_burst: int = Field(default=15, ge=1, le=1000)
    baoxiu_flood_per_minute: float = Field(default=30.0, ge=0, le=6000)
    # Open tickets a resident may file per day; then they are offered to add to an open one (0: no cap).
    baoxiu_max_open_tickets_per_day: int = Field(default=3, ge=0, le=100)
    database_url: str = "sqlite+aiosqlite:///./data/baoxiu.db"
    # Connections a worker keeps open to PostgreSQL (10 more are opened for a moment beyond it): at least the
    # transactions it has open at busy times, or every burst opens and closes connections. SQLite: unused.
    database_pool_size: int = Field(default=20, ge=1, le=500)
    baoxiu_site_file: Path | None = None
    baoxiu_language: Literal["zh_CN", "en"] = "zh_CN"
    baoxiu_media_dir: Path = Path("./data/media")
    baoxiu_max_photo_mb: int = Field(default=10, ge=1, le=50)
    baoxiu_max_photos: int = Field(default=9, ge=0, le=20)
    baoxiu_confirm_reminder: str = "4h"
    baoxiu_confirm_timeout: str = "24h"
    baoxiu_unhappy_rating: int = Field(default=2, ge=1, le=4)
    baoxiu_min_after_photos: int = Field(default=1, ge=0, le=9)
    baoxiu_code_tries: int = Field(default=5, ge=1, le=20)
    baoxiu_outbox_interval: float = Field(default=1.0, gt=0, le=60)
    baoxiu_timer_interval: float = Field(default=1.0, gt=0, le=60)
    # WeChat Official Account (服务号) for residents; see README "WeChat".
    wechat_app_id: str = ""
    wechat_app_secret: SecretStr | None = None
    wechat_token: SecretStr | None = None
    wechat_aes_key: SecretStr | None = None
    wechat_api_base_url: str = "https://api.weixin.qq.com/cgi-bin/"
    wechat_template_id: str = ""
    wechat_template_fields: str = "character_string1=number,phrase2=status,thing3=gist,time4=time"
    wechat_msgmenu: bool = True
    # WeCom (企业微信) self-built app for staff, and a group robot for supervisors.
    wecom_corp_id: str = ""
    wecom_agent_id: int | None = None
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_base_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    wecom_robot_webhook: SecretStr | None = None
    # WeCom drops messages over these per member without an error; the sender paces each member under them.
    wecom_member_per_minute: int = Field(default=30, ge=0)
    wecom_member_per_hour: int = Field(default=1000, ge=0)
    # The web server for callbacks (WeChat, WeCom), started by `baoxiu run` when a WeChat app is set.
    baoxiu_web_host: str = "127.0.0.1"
    baoxiu_web_port: int = Field(default=8080, ge=1, le=65535)
    # Digests: the daily one to supervisors at this local time, the weekly one to managers on this day and
    # time ("off" turns either off).
    baoxiu_digest_daily_at: str = "08:00"
    baoxiu_digest_weekly: str = "mon 08:00"
    # The dashboard (read-only figures for supervisors and managers) on the web server: on or off, the
    # address people open (the proxy's https URL; empty: http://BAOXIU_WEB_HOST:BAOXIU_WEB_PORT), the secret
    # that signs its session cookies (the same on every worker), and how long a login link works.
    baoxiu_dashboard: bool = True
    baoxiu_dashboard_url: str = ""
    baoxiu_dashboard_secret: SecretStr | None = None
    baoxiu_dashboard_link_minutes: int = Field(default=10, ge=1, le=120)
    # Privacy: /mydata includes customer service's follow-up notes about the resident.
    baoxiu_mydata_staff_notes: bool = False
    # Minutes a /mydata download link works (once), where the app can't carry the file (WeChat).
    baoxiu_mydata_link_minutes: int = Field(default=10, ge=1, le=120)
    # Retention of finished tickets' photos and contact details (days; 0 keeps them), by a daily job.
    baoxiu_retain_photos_days: int = Field(default=180, ge=0)
    baoxiu_retain_contacts_days: int = Field(default=365, ge=0)
    baoxiu_retention_at: str = "03:30"

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _blank_token_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "wechat_app_secret",
        "wechat_token",
        "wechat_aes_key",
        "wecom_secret",
        "wecom_token",
        "wecom_aes_key",
        "wecom_robot_webhook",
        "wecom_agent_id",
        mode="before",
    )
    @classmethod
    def _blank_wechat_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("wechat_aes_key", "wecom_aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9]{43}", value.get_secret_value()):
            raise ValueError("the EncodingAESKey is 43 letters and digits, as shown in the admin console")
        return value

    @field_validator("wechat_api_base_url", "wecom_api_base_url")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"

    @field_validator("wecom_robot_webhook")
    @classmethod
    def _robot_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError(
                "the robot's full webhook address, https://qyapi.weixin.qq.com/cgi-bin/webhook/..."
            )
        return value

    @model_validator(mode="after")
    def _wechat_complete(self) -> Settings:
        if self.wechat_app_id and (self.wechat_app_secret is None or self.wechat_token is None):
            raise ValueError("WECHAT_APP_ID needs WECHAT_APP_SECRET and WECHAT_TOKEN as well")
        wecom = {
            "WECOM_AGENT_ID": self.wecom_agent_id,
            "WECOM_SECRET": self.wecom_secret,
            "WECOM_TOKEN": self.wecom_token,
            "WECOM_AES_KEY": self.wecom_aes_key,
        }
        missing = [name for name, value in wecom.items() if value is None]
        if self.wecom_corp_id and missing:
            raise ValueError("WECOM_CORP_ID needs " + ", ".join(missing) + " as well")
        return self

    @field_validator("baoxiu_digest_daily_at")
    @classmethod
    def _daily_at(cls, value: str) -> str:
        from dispatch.schedules import parse_time

        if value.strip().lower() not in ("", "off"):
            parse_time(value)
        return value

    @field_validator("baoxiu_retention_at")
    @classmethod
    def _retention_at(cls, value: str) -> str:
        from dispatch.schedules import parse_time

        parse_time(value)
        return value

    @field_validator("baoxiu_digest_weekly")
    @classmethod
    def _weekly(cls, value: str) -> str:
        from dispatch.schedules import parse_weekly

        if value.strip().lower() not in ("", "off"):
            parse_weekly(value)
        return value

    @field_validator("baoxiu_dashboard_url")
    @classmethod
    def _dashboard_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("the address people open, starting with https:// (or http://)")
        return value.rstrip("/")

    @field_validator("baoxiu_dashboard_secret", mode="before")
    @classmethod
    def _blank_secret_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def digests(self) -> DigestSettings:
        """When digests go out, from these settings."""
        from dispatch.schedules import parse_time, parse_weekly

        daily, weekly = self.baoxiu_digest_daily_at.strip(), self.baoxiu_digest_weekly.strip()
        return DigestSettings(
            daily_at=None if daily.lower() in ("", "off") else parse_time(daily),
            weekly=None if weekly.lower() in ("", "off") else parse_weekly(weekly),
        )

    def retention(self) -> Retention:
        """How long finished tickets keep photos and contacts, and when the daily job runs."""
        from dispatch.schedules import parse_time

        return Retention(
            photos_days=self.baoxiu_retain_photos_days,
            contacts_days=self.baoxiu_retain_contacts_days,
            at=parse_time(self.baoxiu_retention_at),
        )

    @field_validator("baoxiu_site_file", mode="before")
    @classmethod
    def _blank_path_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("baoxiu_confirm_reminder", "baoxiu_confirm_timeout")
    @classmethod
    def _duration(cls, value: str) -> str:
        from dispatch.site import parse_duration

        parse_duration(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from None
        driver = url.get_backend_name(), url.get_driver_name()
        if driver not in {("sqlite", "aiosqlite"), ("postgresql", "asyncpg")}:
            raise ValueError("use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db")
        return value

    @field_validator("telegram_api_base_url", "telegram_file_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("telegram_webhook_url", "telegram_webhook_secret", mode="before")
    @classmethod
    def _blank_webhook_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("Telegram only calls https:// webhook URLs")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value.get_secret_value()):
            raise ValueError("use 16 to 256 letters, digits, _ or - (e.g. `openssl rand -hex 32`)")
        return value

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        if self.telegram_webhook_url and self.telegram_webhook_secret is None:
            raise ValueError("TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET as well")
        return self

    @property
    def telegram_webhook(self) -> bool:
        """True when Telegram updates come by webhook rather than polling."""
        return self.has_telegram and self.telegram_webhook_url is not None

    def worker_id(self) -> str:
        """This worker's name in the outbox's leases: BAOXIU_WORKER_ID, else the host name and the web port
        (two workers on one host serve on different ports; a restarted one gets the same name back)."""
        return self.baoxiu_worker_id.strip() or f"{socket.gethostname()}:{self.baoxiu_web_port}"

    def policy(self) -> Policy:
        """Closure rules from these settings."""
        from dispatch.site import parse_duration

        return Policy(
            confirm_reminder=parse_duration(self.baoxiu_confirm_reminder),
            confirm_timeout=parse_duration(self.baoxiu_confirm_timeout),
            unhappy_rating=self.baoxiu_unhappy_rating,
            min_after_photos=self.baoxiu_min_after_photos,
            code_tries=self.baoxiu_code_tries,
        )

    @property
    def has_telegram(self) -> bool:
        """True when a Telegram bot token is configured."""
        return self.telegram_bot_token is not None

    @property
    def has_wechat(self) -> bool:
        """True when a WeChat Official Account is configured."""
        return bool(self.wechat_app_id)

    @property
    def has_wecom(self) -> bool:
        """True when a WeCom app is configured."""
        return bool(self.wecom_corp_id)

    @property
    def uses_wechat(self) -> bool:
        """True when any WeChat part is configured: Official Account, WeCom app or group robot."""
        return self.has_wechat or self.has_wecom or self.wecom_robot_webhook is not None


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise SettingsError naming each bad one."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("Invalid setting " + "; ".join(problems)) from None
