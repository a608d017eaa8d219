"""「開示」 and 「削除」 in the helpdesk's person view, through the real screens."""

from __future__ import annotations

import json
import os
import stat

import pytest
from textual.widgets import Button, Input, Static

from bene_tui.core.errors import BeneError
from bene_tui.core.i18n import t
from bene_tui.services import auth, privacy
from bene_tui.ui.screens.helpdesk import PersonScreen
from bene_tui.ui.screens.privacy import NamedConfirmScreen
from bene_tui.ui.screens.start import StartScreen
from support.world import GOOD_PASSWORD
from helpers import type_into, wait_for, wait_screen
from support.screens import open_person
from support.services import ICHIRO, TARO, _people


def _audit(ctx, action: str) -> list[dict]:
    return list(ctx.db.query("select * from audit where action = ? order by id", [action]))


async def _press(pilot, screen, selector: str) -> NamedConfirmScreen:
    screen.query_one(selector, Button).focus()
    await pilot.press("enter")
    return await wait_screen(pilot, NamedConfirmScreen)


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_disclose_writes_the_file_and_shows_counts(app_factory, ctx, monkeypatch, lang):
    monkeypatch.setenv("BENE_TUI_OPERATOR", "suzuki")
    _people(ctx)
    app = app_factory(mode="helpdesk", lang=lang)
    async with app.run_test(size=(140, 50)) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        screen = await open_person(pilot, app, TARO, "山田 太郎")
        assert str(screen.query_one("#privacy-export", Button).label) == t(lang, "privacy.export")
        # No: nothing written.
        modal = await _press(pilot, screen, "#privacy-export")
        assert app.focused is modal.query_one("#no", Button)
        assert modal.query_one("#operator", Input).value == "suzuki"
        await pilot.press("escape")
        await wait_screen(pilot, PersonScreen)
        assert _audit(ctx, "person.export") == []
        # Yes, under the operator's own name.
        await _press(pilot, screen, "#privacy-export")
        await type_into(pilot, "#operator", "佐々木")
        await pilot.press("enter")
        [row] = await wait_for(pilot, lambda: _audit(ctx, "person.export"), what="export audited")
        assert row["actor"] == "operator:佐々木" and row["outcome"] == "ok"
        result = screen.query_one("#hd-privacy-result", Static)
        text = await wait_for(pilot, lambda: str(result.render()), what="result shown")
        path = text.split(": ", 1)[1].splitlines()[0]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        data = json.loads(open(path, encoding="utf-8").read())
        expected = t(lang, "privacy.exported", path=path, **data["counts"])
        assert text == expected and data["account"]["login_id"] == TARO and ICHIRO not in json.dumps(data)


async def test_erase_asks_for_a_proper_operator_then_erases(app_factory, ctx, monkeypatch):
    monkeypatch.setenv("BENE_TUI_OPERATOR", "suzuki")
    people = _people(ctx)
    app = app_factory(mode="helpdesk", lang="ja")
    async with app.run_test(size=(140, 50)) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        screen = await open_person(pilot, app, TARO, "山田 太郎")
        modal = await _press(pilot, screen, "#privacy-erase")
        assert str(modal.query_one("#question", Static).render()) == t("ja", "privacy.confirm_erase")
        # A bad operator name: said beside the field, nothing erased, the dialog stays.
        await type_into(pilot, "#operator", "a:b")
        modal.query_one("#yes", Button).focus()
        await pilot.press("enter")
        error = modal.query_one("#operator-error", Static)
        await wait_for(pilot, lambda: str(error.render()), what="operator error")
        assert str(error.render()) == t("ja", "hd.error.operator")
        assert app.screen is modal and _audit(ctx, "person.erase") == []
        assert ctx.db["accounts"].get(people["taro"])["login_id"] == TARO
        # Now a proper name: erased, audited, the person read again without the buttons.
        await type_into(pilot, "#operator", "佐々木")
        await pilot.press("enter")
        [row] = await wait_for(pilot, lambda: _audit(ctx, "person.erase"), what="erase audited")
        assert row["actor"] == "operator:佐々木" and TARO not in (row["detail"] + row["reason"])
        person = await wait_screen(pilot, PersonScreen)
        await wait_for(pilot, lambda: not person.query("#privacy-erase"), what="buttons gone")
        result = str(person.query_one("#hd-privacy-result", Static).render())
        assert result.startswith("削除しました")
        assert TARO not in str(person.query_one("#hd-summary", Static).render())
    with pytest.raises(BeneError) as e:
        auth.login(ctx, "benefit_station", TARO, GOOD_PASSWORD)
    assert e.value.key == auth.CASE1
    assert ctx.db["accounts"].get(people["taro"])["login_id"] == privacy.ERASED
