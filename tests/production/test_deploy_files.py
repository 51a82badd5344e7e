"""The Dockerfile and docker-compose.yml say what the README promises (this machine has no Docker daemon,
so `docker compose up` itself is not run here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_the_bot_on_postgresql_with_healthchecks_and_a_media_volume() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    db, bot = compose["services"]["db"], compose["services"]["bot"]
    assert db["image"].startswith("postgres:15") and "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert bot["build"] == "." and bot["depends_on"]["db"]["condition"] == "service_healthy"
    url = bot["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://") and "@db:5432/" in url
    assert "/healthz" in " ".join(bot["healthcheck"]["test"])
    assert any(
        v.startswith("media:") and v.endswith(bot["environment"]["BAOXIU_MEDIA_DIR"]) for v in bot["volumes"]
    )
    assert set(compose["volumes"]) >= {"pgdata", "media"}
    # Every setting the compose file passes is one the bot knows.
    known = {name.upper() for name in Settings.model_fields}
    assert set(bot["environment"]) <= known


def test_dockerfile_installs_the_package_and_starts_with_json_logs() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for folder in re.findall(r"^COPY (\w+) \./\1$", text, re.MULTILINE):
        assert (ROOT / folder / "__init__.py").exists(), folder
    assert set(re.findall(r"^COPY (\w+) ", text, re.MULTILINE)) >= {"bot", "handlers", "dispatch", "storage"}
    assert 'ENTRYPOINT ["baoxiu"]' in text and 'CMD ["run", "--log-json"]' in text
    assert "USER baoxiu" in text and "HEALTHCHECK" in text and "/healthz" in text
