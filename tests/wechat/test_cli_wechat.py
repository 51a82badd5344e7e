"""`baoxiu wechat menu | bind | check` against the fake WeChat server, through the real command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli.main import main
from dispatch import staff
from storage.db import Database
from tests.fakes.wechat_server import FakeWeChatServer
from tests.support.wxbot import wechat_settings


@pytest.fixture
async def server() -> FakeWeChatServer:
    """The fake WeChat APIs on the wall clock (the CLI runs on the system clock)."""
    async with FakeWeChatServer() as fake:
        yield fake  # type: ignore[misc]


def environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: FakeWeChatServer, **extra: str
) -> str:
    """The bot's settings as environment variables (no .env file in the way); the database URL."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    values = {
        **wechat_settings(server),
        "database_url": url,
        "baoxiu_media_dir": str(tmp_path / "media"),
        **extra,
    }
    for name in list(values):
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name.upper(), str(value))
    return url


async def run(*argv: str) -> int:
    """`baoxiu ARGV` in a thread (it runs its own event loop), while the fake server serves in ours."""
    return await asyncio.to_thread(main, list(argv))


async def test_wechat_menu_installs_the_three_buttons(
    server: FakeWeChatServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environment(monkeypatch, tmp_path, server)
    assert await run("wechat", "menu") == 0
    assert "我要报修 / 我的报修 / 联系物业" in capsys.readouterr().out
    (menu,) = server.menus
    assert [(b["type"], b["name"], b["key"]) for b in menu["button"]] == [
        ("click", "我要报修", "repair"),
        ("click", "我的报修", "mytickets"),
        ("click", "联系物业", "office"),
    ]
    assert await run("wechat", "menu", "--show") == 0
    assert '"key": "office"' in capsys.readouterr().out
    # English offices get short English names (a main button takes at most 16 bytes).
    monkeypatch.setenv("BAOXIU_LANGUAGE", "en")
    assert await run("wechat", "menu") == 0
    assert [b["name"] for b in server.menus[-1]["button"]] == ["Repair", "My repairs", "Contact us"]


async def test_wechat_menu_reports_wechats_refusal(
    server: FakeWeChatServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environment(monkeypatch, tmp_path, server, wechat_app_secret="wrong-secret")
    assert await run("wechat", "menu") == 1
    assert "40125" in capsys.readouterr().err
    assert server.menus == []
    environment(monkeypatch, tmp_path, server, wechat_app_id="", wechat_app_secret="", wechat_token="")
    assert await run("wechat", "menu") == 2


async def test_wechat_check_and_bind(
    server: FakeWeChatServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = environment(monkeypatch, tmp_path, server)
    assert await run("wechat", "check") == 0
    out = capsys.readouterr().out
    assert "Official Account: OK" in out and "WeCom app: OK" in out
    assert (
        await run("staff", "add", "--role", "technician", "--name", "张师傅", "--skills", "plumbing_electric")
        == 0
    )
    assert await run("wechat", "bind", "张师傅", "--wecom-user", "zhangsan") == 0
    assert await run("wechat", "bind", "无名氏", "--wecom-user", "x") == 1
    db = Database(url)
    try:
        async with db.transaction() as session:
            person = await staff.by_name(session, "张师傅")
            assert person is not None
            from storage.repositories import People

            identities = await People(session).identities(person.id)
        assert [(i.channel, i.external_id) for i in identities] == [("wecom", "zhangsan")]
    finally:
        await db.dispose()
    environment(monkeypatch, tmp_path, server, wecom_secret="nope")
    assert await run("wechat", "check") == 1
    assert "WeCom app: refused" in capsys.readouterr().out


async def test_wechat_check_warns_about_fields_the_2023_layout_hides_or_cuts(
    server: FakeWeChatServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environment(monkeypatch, tmp_path, server)
    assert await run("wechat", "check") == 0
    assert "warning" not in capsys.readouterr().out  # the default fields fit the new layout
    old = "first=title,keyword1=number,thing2=body,phrase3=物业服务中心维修部,remark=hint"
    environment(monkeypatch, tmp_path, server, wechat_template_fields=old)
    assert await run("wechat", "check") == 0  # warnings, not failures
    out = capsys.readouterr().out
    assert "first=title: WeChat no longer shows" in out and "remark=hint: WeChat no longer shows" in out
    assert "thing2=body: free text in a field of 20 characters" in out
    assert "phrase3=物业服务中心维修部: 9 characters, the field shows 5" in out
    assert "keyword1" not in out
