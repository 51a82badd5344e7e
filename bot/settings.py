"""Settings from the environment and `.env`, checked once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from dispatch.policy import Policy


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
    database_url: str = "sqlite+aiosqlite:///./data/baoxiu.db"
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

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _blank_token_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

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
