"""Links carried by messages: their shape, and the three ways they open inside the app
(the outbox viewer, `bene-tui open URL`, `BeneApp(open_link=URL)`)."""

from __future__ import annotations

import pytest

from bene_tui import cli
from bene_tui.services import family, links
from bene_tui.ui.screens.family import ApproveScreen, FamilyRegisterScreen
from bene_tui.ui.screens.start import StartScreen
from helpers import screen_text, wait_for, wait_screen
from support.screens import problem_text
from support.services import invite, invited, member
from bene_tui.services.context import open_context
from bene_tui.services.secret_store import SecretStore
from support.world import make_settings

SIZE = (120, 50)


@pytest.fixture
def sctx(app_factory, tmp_path, clock):
    """A service context on the app's database (the test world is imported by app_factory)."""
    context, _ = open_context(make_settings(tmp_path), clock=clock,
                              secret_store=SecretStore(tmp_path / "secrets.json", use_keyring=False))
    yield context
    context.store.close()


def test_make_and_parse():
    url = links.make("/family/invite", "abc_DEF-123")
    assert url == "https://bene-account.local/family/invite?token=abc_DEF-123"
    assert links.parse(url) == ("/family/invite", {"token": "abc_DEF-123"})
    assert links.parse("  " + url + "\n") == ("/family/invite", {"token": "abc_DEF-123"})
    assert links.parse("https://bene-account.local/family/invite?token=") == ("/family/invite", {})
    assert links.parse("") == ("", {})


def test_every_link_a_service_sends_has_its_route():
    from bene_tui.ui.screens import routes

    assert set(family.PATHS.values()) <= set(routes.LINKS)


def test_links_in_messages_are_real_looking_and_carry_a_fresh_token(world):
    acc = member(world)
    first = invite(world, acc)["message"]
    second = invite(world, acc, contact="ichiro@example.jp", relationship="child")["message"]
    for message in (first, second):
        path, params = links.parse(message["link"])
        assert message["link"].startswith("https://bene-account.local/family/approve?token=")
        assert path == "/family/approve" and len(params["token"]) >= 22
    assert first["link"] != second["link"]


@pytest.mark.parametrize("argv", [["open", "https://bene-account.local/family/invite?token=x"],
                                  ["--lang", "en", "open", "https://bene-account.local/family/approve?token=y"]])
def test_cli_open_starts_the_app_on_the_link(monkeypatch, argv):
    seen = {}

    def fake_run_app(args, open_link=None):
        seen["args"], seen["link"] = args, open_link
        return 0

    monkeypatch.setattr(cli, "run_app", fake_run_app)
    assert cli.main(argv) == 0
    assert seen["link"] == argv[-1]
    assert seen["args"].command == "open"


def test_cli_open_needs_a_url(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["open"])
    assert e.value.code == 2
    assert "url" in capsys.readouterr().err


async def test_unknown_link_is_told_not_crashed(app_factory):
    app = app_factory(open_link="https://example.com/phishing?token=abc")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app._notifications, what="notification")
        assert any("このURLは開けません" in n.message for n in app._notifications)
        assert isinstance(app.screen, StartScreen)
        app.open_link("https://bene-account.local/no/such/path?token=x")
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)


async def test_open_link_at_start_opens_the_invitation(app_factory, sctx):
    acc = member(sctx)
    _, token = invited(sctx, acc)
    app = app_factory(open_link=links.make("/family/invite", token))
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_screen(pilot, FamilyRegisterScreen)
        await wait_for(pilot, lambda: screen.view is not None, what="invitation")
        assert "山田 太郎様から" in screen_text(pilot)
        # Escape leaves the invitation for the start screen below it
        await pilot.press("escape")
        await wait_screen(pilot, StartScreen)


async def test_open_link_while_running(app_factory, sctx):
    """The outbox screen calls app.open_link; any screen can be below it."""
    acc = member(sctx)
    result = invite(sctx, acc)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.ctx is not None)
        app.session.account_id = acc
        app.open_link(result["message"]["link"])
        screen = await wait_screen(pilot, ApproveScreen)
        await wait_for(pilot, lambda: screen.view is not None, what="invitation shown")
        # the same link with a damaged token
        app.open_link(result["message"]["link"][:-3])
        assert "このURLは無効です" in await problem_text(pilot)


async def test_link_problem_in_english_and_helpdesk_reason(app_factory):
    url = "https://bene-account.local/family/approve?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    app = app_factory(lang="en", mode="helpdesk", open_link=url)
    async with app.run_test(size=SIZE) as pilot:
        text = await problem_text(pilot)
        assert "This link is not valid" in text
        assert text.endswith("\n[staff only] No such URL (mistyped or altered)")  # the staff-only reason, in words
        await pilot.press("f4")
        await wait_for(pilot, lambda: "このURLは無効です" in str(app.screen.query_one("#problem").render()),
                       what="Japanese")


@pytest.mark.parametrize("url", [
    "https://bene-account.local.evil.example/family/approve?token=x",
    "http://bene-account.local/family/approve?token=x",
    "https://user@bene-account.local/family/approve?token=x",
    "https://bene-account.local:99999/family/approve?token=x",
    "\x00", "", "[b]x[/b]",
])
def test_foreign_or_broken_links_are_not_ours(url):
    assert links.parse(url) == ("", {})
