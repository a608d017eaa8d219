"""Driving the real screens with Pilot: registration, login, recovery, helpdesk search, family."""

from __future__ import annotations

from textual.widgets import Button, Checkbox, Input, Label, OptionList, RadioButton, Select, Static

from bene_tui.ui.screens import routes
from bene_tui.ui.screens.family import FamilySettingsScreen, LinkProblemScreen
from bene_tui.ui.screens.helpdesk import PersonScreen, SearchScreen
from bene_tui.ui.screens.login import LoginScreen
from bene_tui.ui.screens.mypage import MyPageScreen
from bene_tui.ui.screens.registration import DoneScreen, Step1Screen, Step2Screen, Step3Screen, Step4Screen
from bene_tui.ui.screens.start import StartScreen
from helpers import messages_to, type_into, wait_for, wait_screen
from support.world import GOOD_PASSWORD

# The member of the test world (support.world.TEST_WORLD) most tests register.
TARO = ("TS000001", "1001", "19850401")


async def open_step1(pilot) -> Step1Screen:
    start = await wait_screen(pilot, StartScreen)
    assert start.focused is start.query_one("#register"), "「新規登録」 must have the focus on the start screen"
    await pilot.press("enter")
    return await wait_screen(pilot, Step1Screen)


async def do_step1(pilot, group_id: str, key1: str, key2: str) -> None:
    """Type the three values, Enter moving from field to field; Enter on the last presses 「次へ」."""
    await type_into(pilot, "#group_id", group_id)
    await pilot.press("enter")
    assert pilot.app.screen.focused.id == "key1"
    await type_into(pilot, "#key1", key1)
    await pilot.press("enter")
    assert pilot.app.screen.focused.id == "key2"
    await type_into(pilot, "#key2", key2)
    await pilot.press("enter")


async def to_step2(pilot, member=TARO) -> Step2Screen:
    await open_step1(pilot)
    await do_step1(pilot, *member)
    return await wait_screen(pilot, Step2Screen)


async def fill_step2(pilot, login_id: str, kind: str = "email", password: str = GOOD_PASSWORD,
                     password2: str | None = None, agree: bool = True) -> None:
    screen = pilot.app.screen
    assert screen.focused is screen.query_one("#kind"), "focus starts on the first field"
    if kind == "sms":
        await pilot.press("down", "space")
        assert screen.query_one("#kind-sms", RadioButton).value
    await type_into(pilot, "#login_id", login_id)
    await type_into(pilot, "#password", password)
    await pilot.press("enter")  # Enter in a password field moves on
    assert screen.focused.id == "password2"
    await type_into(pilot, "#password2", password if password2 is None else password2)
    if screen.query_one("#agree", Checkbox).value != agree:
        screen.query_one("#agree", Checkbox).focus()
        await pilot.press("space")  # Space ticks
    assert screen.query_one("#agree", Checkbox).value == agree
    screen.query_one("#submit", Button).focus()
    await pilot.press("enter")


async def type_code(pilot, code: str) -> None:
    await type_into(pilot, "#code", code)
    await pilot.press("enter")  # Enter in the code field presses 「送信する」


async def to_step4(pilot, tmp_path, login_id: str = "taro@example.jp", member=TARO) -> None:
    """Steps 1 to 3 with the code that was sent (the caller waits for Step 4 as it needs)."""
    await to_step2(pilot, member)
    await fill_step2(pilot, login_id)
    await wait_screen(pilot, Step3Screen)
    await type_code(pilot, messages_to(tmp_path, login_id)[-1]["code"])


async def confirm_and_complete(pilot) -> DoneScreen:
    screen = await wait_screen(pilot, Step4Screen)
    await wait_for(pilot, lambda: str(screen.query_one("#name", Static).render()).strip(), what="the 姓名")
    assert screen.focused is screen.query_one("#confirm")
    await pilot.press("space")
    screen.query_one("#complete", Button).focus()
    await pilot.press("enter")
    return await wait_screen(pilot, DoneScreen)


def form_text(pilot, inputs: bool = True) -> str:
    """What the screen's own form says (not the demo's live outbox or the helpdesk's guide panel)."""
    parts = []
    for w in pilot.app.screen.query_one(".flow").query("*"):
        if isinstance(w, Input):
            if inputs:
                parts.append(w.value)
        elif isinstance(w, (Static, Label, Button)):
            parts.append(f"{w.id}|{w.display}|{w.render()}")
    return "\n".join(parts)


async def open_login(pilot) -> LoginScreen:
    start = await wait_screen(pilot, StartScreen)
    start.query_one("#login", Button).focus()
    await pilot.press("enter")
    screen = await wait_screen(pilot, LoginScreen)
    assert screen.focused is screen.query_one("#login-id"), "focus starts on the login ID"
    return screen


async def submit(pilot, login_id: str, password: str, service: str | None = None) -> None:
    screen = pilot.app.screen
    if service:
        screen.query_one("#login-service", Select).value = service
        await pilot.pause()
    await type_into(pilot, "#login-id", login_id)
    await pilot.press("enter")  # Enter in the login ID moves to the password
    assert screen.focused.id == "login-password"
    await type_into(pilot, "#login-password", password)
    await pilot.press("enter")  # Enter in the password presses 「ログイン」


async def from_start(pilot, button_id: str, screen_cls):
    start = await wait_screen(pilot, StartScreen)
    start.query_one(f"#{button_id}", Button).focus()
    await pilot.press("enter")
    screen = await wait_screen(pilot, screen_cls)
    await pilot.pause()
    return screen


async def fill(pilot, *pairs: tuple[str, str]) -> None:
    """Type field by field; Enter moves on and, on the last field, presses the screen's button."""
    for field, value in pairs:
        assert pilot.app.screen.focused.id == field, f"focus should be on {field}"
        await type_into(pilot, f"#{field}", value)
        await pilot.press("enter")


async def open_search(pilot) -> SearchScreen:
    """F3 from the start screen, the operator already named."""
    await wait_screen(pilot, StartScreen)
    await pilot.press("f3")
    return await wait_screen(pilot, SearchScreen)


async def open_person(pilot, app, query: str, name_part: str) -> PersonScreen:
    """F3 → search → the person whose line contains name_part → Enter."""
    await pilot.press("f3")
    await wait_screen(pilot, SearchScreen)
    assert app.focused is app.screen.query_one("#query", Input)
    await type_into(pilot, "#query", query)
    await pilot.press("enter")
    results = app.screen.query_one("#hd-results", OptionList)
    await wait_for(pilot, lambda: results.option_count > 0, what="search results")
    lines = [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]
    index = next(i for i, line in enumerate(lines) if name_part in line)
    assert app.focused is app.screen.query_one("#query", Input), "the next query can be typed at once"
    await pilot.press("down")  # ↓ from the query to the results
    assert app.focused is results
    for _ in range(index):
        await pilot.press("down")
    await pilot.press("enter")
    screen = await wait_screen(pilot, PersonScreen)
    await wait_for(pilot, lambda: screen.data is not None, what="person loaded")
    return screen


async def person_page(pilot, app, account_id: int, ready: str) -> PersonScreen:
    """The helpdesk's page of an account, pushed straight (no search), once its data and the widget
    `ready` (a selector) are there."""
    await wait_for(pilot, lambda: app.ctx is not None, what="the database")
    app.push_screen(PersonScreen(f"account:{account_id}"))
    person = await wait_screen(pilot, PersonScreen)
    await wait_for(pilot, lambda: person.data is not None and person.query(ready), what="the person")
    return person


SIZE = (120, 50)


async def problem_text(pilot) -> str:
    """The message of the link-problem page, once it is on screen (mounting takes a moment)."""
    def text():
        screen = pilot.app.screen
        if isinstance(screen, LinkProblemScreen):
            found = screen.query("#problem")
            return str(found.first().render()) if found else None
        return None

    return await wait_for(pilot, text, what="link problem page")


async def login(pilot, login_id: str, password: str = GOOD_PASSWORD, service: str | None = None) -> None:
    """On the login screen: choose the service (if asked), type the ID and password, Enter."""
    screen = await wait_screen(pilot, LoginScreen)
    if service:
        screen.query_one("#login-service", Select).value = service
    await type_into(pilot, "#login-id", login_id)
    await pilot.press("enter")
    assert pilot.app.focused.id == "login-password"
    await type_into(pilot, "#login-password", password)
    await pilot.press("enter")


async def to_mypage(pilot, login_id: str = "taro@example.jp") -> MyPageScreen:
    start = await wait_screen(pilot, StartScreen)
    await wait_for(pilot, lambda: pilot.app.ctx is not None, what="database open")
    start.query_one("#login", Button).focus()
    await pilot.press("enter")
    await login(pilot, login_id)
    return await wait_screen(pilot, MyPageScreen)


async def settings_of(pilot, account_id: int) -> FamilySettingsScreen:
    """The family settings of a member, as マイページ opens them (skipping the login screens)."""
    await wait_screen(pilot, StartScreen)
    pilot.app.session.account_id = account_id
    routes.FAMILY_SETTINGS(pilot.app)
    settings = await wait_screen(pilot, FamilySettingsScreen)
    await wait_for(pilot, lambda: settings.data is not None, what="family overview")
    return settings
