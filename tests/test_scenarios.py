"""Scenarios (issue 5): every shipped scenario plays through the real screens to its end (speed
0), then the database shows what it did; the parser refuses bad files; the presenter's keys."""

from __future__ import annotations


import pytest
from textual.widgets import Input

from bene_tui.core.config import Rules
from bene_tui.services import passwords
from bene_tui.ui import scenario
from bene_tui.ui.screens.registration import Step1Screen
from bene_tui.ui.screens.start import StartScreen
from bene_tui.ui.widgets.scenario_bar import ScenarioBar
from support.world import CHEAP_ARGON2
from helpers import query, wait_for, wait_screen

SIZE = (160, 50)  # room for the outbox panel beside the flow


def account(tmp_path, login_id: str) -> dict:
    rows = query(tmp_path, "select * from accounts where login_id = ?", [login_id])
    assert rows, f"no account {login_id}"
    return rows[0]


def linked_members(tmp_path, account_id: int) -> set[tuple[str, str]]:
    rows = query(tmp_path, "select m.group_id, m.auth_key_1 from account_members am join members m on m.id = am.member_id "
                           "where am.account_id = ?", [account_id])
    return {(r["group_id"], r["auth_key_1"]) for r in rows}


# -- what each shipped scenario must leave in the database ---------------------------------------------


def check_registration_email(tmp_path):
    acct = account(tmp_path, "taro.yamada@example.jp")
    assert acct["status"] == "active" and acct["login_kind"] == "email"
    assert linked_members(tmp_path, acct["id"]) == {("BO100001", "100234")}
    assert query(tmp_path, "select count(*) as n from benefits where account_id = ?", [acct["id"]]) == [{"n": 1}]


def check_registration_sms(tmp_path):
    acct = account(tmp_path, "+819012345678")  # typed as ０９０－１２３４－５６７８
    assert acct["status"] == "active" and acct["login_kind"] == "sms"
    assert linked_members(tmp_path, acct["id"]) == {("BO100001", "100301")}
    sms = query(tmp_path, "select channel, status from outbox where recipient = '+819012345678'")
    assert sms and all(m["channel"] == "sms" and m["status"] == "sent" for m in sms)


def check_link_existing(tmp_path):
    acct = account(tmp_path, "misaki.sato@example.jp")
    assert linked_members(tmp_path, acct["id"]) == {("BO100001", "100301"), ("BO200002", "S2003")}
    assert query(tmp_path, "select count(*) as n from accounts") == [{"n": 1}], "linked, not a second account"


def check_forgot_password(tmp_path):
    acct = account(tmp_path, "taro.yamada@example.jp")
    rules = Rules(**CHEAP_ARGON2)
    assert passwords.verify_password(acct["password_hash"], "natsu-no-yoru-ni-hanabi-wo-8", rules)
    assert not passwords.verify_password(acct["password_hash"], "sakura-ga-saku-haru-no-hi-7", rules)
    purposes = [r["purpose"] for r in query(tmp_path, "select purpose from outbox where recipient = ? order by id",
                                            [acct["login_id"]])]
    assert "password_reset" in purposes


def check_family_invitation(tmp_path):
    member = account(tmp_path, "taro.yamada@example.jp")
    family = account(tmp_path, "hanako.yamada@example.jp")
    assert family["kind"] == "family" and family["family_of"] == member["id"] and family["status"] == "active"
    invitation = query(tmp_path, "select * from invitations where account_id = ?", [member["id"]])
    assert len(invitation) == 1 and invitation[0]["state"] == "registered"
    assert invitation[0]["attempts"] == 1, "the wrong birth date was counted once"
    assert invitation[0]["family_account_id"] == family["id"]


CHECKS = {
    "registration_email": check_registration_email,
    "registration_sms": check_registration_sms,
    "link_existing": check_link_existing,
    "forgot_password": check_forgot_password,
    "family_invitation": check_family_invitation,
}


def test_the_required_scenarios_are_shipped_and_each_has_a_check():
    assert set(scenario.available()) == set(CHECKS)


@pytest.mark.parametrize("name", scenario.available())
async def test_every_shipped_scenario_plays_to_its_end(app_factory, tmp_path, name):
    found = scenario.load(name)
    app = app_factory(mode="demo", lang=found.lang)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        player = app.modes.play(found, speed=0)
        await wait_for(pilot, lambda: player.done, timeout=120, what=f"scenario {name}")
        assert player.error is None and player.finished and not player.stopped
        assert player.index == len(found.steps) - 1
        await wait_for(pilot, lambda: "✔" in str(app.screen.query_one(ScenarioBar).query_one("#scenario-status").render()),
                       what="the bar says finished")
    CHECKS[name](tmp_path)


# -- the presenter's keys -------------------------------------------------------------------------


INPUT_ONLY = """
title = "typing"
reset = false
steps = [
  {press = "#register"},
  {wait_screen = "registration.step1"},
  {type = "#group_id", text = "TS000001"},
  {type = "#key1", text = "1001"},
  {say = "done"},
]
"""


async def test_pause_step_speed_and_stray_keys(app_factory):
    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        player = scenario.Player(app, scenario.parse(INPUT_ONLY), speed=0)
        app.modes.player = player
        player.set_paused(True)
        app.run_worker(player.run(), group="scenario")
        await pilot.pause()
        assert player.index == 0 and isinstance(app.screen, StartScreen), "paused before the first step"

        await pilot.press("n")  # one step: 「新規登録」
        await wait_screen(pilot, Step1Screen)
        await pilot.pause()
        assert player.paused and player.index <= 1

        await pilot.press("n")
        await pilot.press("n")  # wait_screen, then the typing of the 団体ID
        step1 = app.screen
        await wait_for(pilot, lambda: step1.query_one("#group_id", Input).value == "TS000001")
        await pilot.press("x")  # a stray key while a scenario is loaded goes nowhere
        await pilot.pause()
        assert step1.query_one("#group_id", Input).value == "TS000001"
        assert step1.query_one("#key1", Input).value == ""

        player.set_speed(1.0)
        await pilot.press("plus")
        assert player.speed == pytest.approx(1.5)
        await pilot.press("minus")
        await pilot.press("minus")
        assert player.speed == pytest.approx(1.0 / 1.5)
        player.set_speed(0)

        await pilot.press("space")  # resume: the rest plays
        await wait_for(pilot, lambda: player.done)
        assert player.finished and step1.query_one("#key1", Input).value == "1001"
        await pilot.press("escape")  # closes the finished bar
        await wait_for(pilot, lambda: not app.screen.query(ScenarioBar))
        await pilot.press("x")  # and the keyboard is the person's again
        await pilot.pause()
        assert step1.query_one("#key1", Input).value == "1001x"


async def test_escape_stops_a_scenario(app_factory):
    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        player = scenario.Player(app, scenario.parse(INPUT_ONLY), speed=0)
        app.modes.player = player
        player.set_paused(True)
        app.run_worker(player.run(), group="scenario")
        await pilot.pause()
        await pilot.press("escape")
        await wait_for(pilot, lambda: player.done)
        assert player.stopped and not player.finished
        assert isinstance(app.screen, StartScreen)


SLOW_TYPING = """
title = {ja = "入力", en = "Typing"}
reset = false
steps = [
  {say = {ja = "団体IDを入力します", en = "Typing the group ID"}},
  {press = "#register"},
  {wait_screen = "registration.step1"},
  {type = "#group_id", text = "TS000001TS000001"},
  {pause = 30},
]
"""


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", [(100, 30), SIZE])
async def test_stopping_a_scenario_midway_returns_to_a_clean_start_screen(app_factory, lang, size):
    app = app_factory(mode="demo", lang=lang)
    async with app.run_test(size=size) as pilot:
        await wait_screen(pilot, StartScreen)
        player = app.modes.play(scenario.parse(SLOW_TYPING), speed=0.5)
        step1 = await wait_screen(pilot, Step1Screen)
        field = step1.query_one("#group_id", Input)
        await wait_for(pilot, lambda: len(field.value) >= 3, what="typing under way")
        await pilot.press("escape")
        start = await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: player.done and len(app.screen_stack) == 2)
        assert player.stopped and app.lang == lang, "the presenter's language stays"
        await pilot.pause(0.3)
        assert not any(s.query("#group_id") for s in app.screen_stack), "nothing half-typed left"
        assert start.focused is start.query_one("#register")


CAPTIONS = {"ja": ("団体IDを入力します", "入力"), "en": ("Typing the group ID", "Typing")}


@pytest.mark.parametrize("first, then", [("ja", "en"), ("en", "ja")])
@pytest.mark.parametrize("size", [(100, 30), SIZE])
async def test_f4_switches_the_language_while_a_scenario_plays_captions_included(app_factory, first, then, size):
    app = app_factory(mode="demo", lang=first)
    async with app.run_test(size=size) as pilot:
        await wait_screen(pilot, StartScreen)
        player = app.modes.play(scenario.parse(SLOW_TYPING), speed=0.5)
        step1 = await wait_screen(pilot, Step1Screen)
        assert player.caption == CAPTIONS[first][0]
        await wait_for(pilot, lambda: len(step1.query_one("#group_id", Input).value) >= 2)
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.lang == then)
        bar = await wait_for(pilot, lambda: app.screen.query_one(ScenarioBar))
        caption, title = CAPTIONS[then]
        await wait_for(pilot, lambda: str(bar.caption_line.render()) == caption, what="caption in the new language")
        assert title in str(bar.status_line.render()), "the title too"
        assert bar.region.height > 0 and bar.region.bottom <= size[1], "the bar in view"
        await wait_for(pilot, lambda: app.screen.query_one("#group_id", Input).value == "TS000001TS000001",
                       what="the typing carried on into the rebuilt screen")
        assert not player.error
        await pilot.press("escape")


async def test_a_step_that_cannot_be_done_stops_with_its_reason(app_factory):
    app = app_factory(mode="demo")
    broken = scenario.parse('reset = false\nsteps = [{press = "#no-such-button", timeout = 0.3}]', "broken")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        player = app.modes.play(broken, speed=0)
        await wait_for(pilot, lambda: player.done)
        assert not player.finished and "#no-such-button" in player.error
        assert "#no-such-button" in str(app.screen.query_one("#scenario-status").render())


# -- the parser ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, message", [
    ('steps = []', "no steps"),
    ('steps = [{press = "#a", type = "#b"}]', "exactly one"),
    ('steps = [{jump = "#a"}]', "exactly one"),
    ('steps = [{type = "#a"}]', "text"),
    ('steps = [{press = "#a", colour = "red"}]', "unknown key"),
    ('steps = [{advance = "soon"}]', "not a duration"),
    ('steps = [{read_code_for = "nobody", into = "#code"}]', "not an e-mail"),
    ('steps = [{read_code_for = "a@example.jp"}]', "into"),
    ('steps = [{wait_screen = "Step 3"}]', "unknown screen"),
    ('steps = [{wait_screen = "Step3Screen"}]', "unknown screen 'Step3Screen'"),  # a class name is not a route
    ('steps = [{trouble = {fail_fax = true}}]', "trouble"),
    ('steps = [{say = 3}]', "say"),
    ('steps = [{press = "#a", timeout = -1}]', "timeout"),
    ('speed = 2\nsteps = [{press = "#a"}]', "unknown key"),
    ('setup = [{register = {group_id = "X"}}]\nsteps = [{press = "#a"}]', "setup 1"),
    ('steps = [{press = "#a"', "not valid TOML"),
])
def test_the_parser_names_what_is_wrong(text, message):
    with pytest.raises(scenario.ScenarioError) as refused:
        scenario.parse(text, "bad")
    assert message in str(refused.value)


def test_durations_and_recipients_are_read_once_at_load():
    assert [scenario.parse_duration(d) for d in ("90s", "10m", "1h", "2d", "1h30m", 45)] == [
        90, 600, 3600, 172800, 5400, 45]
    found = scenario.parse('steps = [{read_code_for = "０９０-１２３４-５６７８", into = "#code"}, {advance = "1h"}]')
    assert found.steps[0].arg == "+819012345678" and found.steps[1].arg == 3600
    assert found.reset is True and found.lang == "ja"


def test_a_file_naming_a_screen_outside_the_route_table_is_refused_as_it_loads(tmp_path):
    old = tmp_path / "old.toml"
    old.write_text('steps = [{press = "#register"}, {wait_screen = "Step1Screen"}]', encoding="utf-8")
    with pytest.raises(scenario.ScenarioError, match=r"old.*unknown screen 'Step1Screen'.*registration\.step1"):
        scenario.load(str(old))


def test_load_by_name_or_path(tmp_path):
    assert scenario.load("registration_email").title_in("en").startswith("New registration")
    path = tmp_path / "mine.toml"
    path.write_text('title = {ja = "私の", en = "Mine"}\nsteps = [{say = "hi"}]', encoding="utf-8")
    assert scenario.load(str(path)).title_in("en") == "Mine"
    with pytest.raises(scenario.ScenarioError, match="registration_email"):
        scenario.load("no_such_scenario")
