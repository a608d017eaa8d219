"""The UI seam: one route table (ui/screens/routes.py), one way to call a service (BaseScreen.run_service),
(circles: import-linter's no-circles contract, tests/test_layers.py)."""

from __future__ import annotations

from bene_tui.core.i18n import catalogue
from bene_tui.ui.screens import routes
from bene_tui.ui.screens.base import BaseScreen, find_handler
from bene_tui.ui.screens.start import StartScreen
from helpers import wait_screen


def test_every_route_leads_to_a_screen_or_an_opener():
    for route in routes.ALL:
        assert callable(route.target()), route.path
    for button_id, key, route in routes.START:
        assert issubclass(route.target(), BaseScreen), button_id
        assert key in catalogue("ja") and key in catalogue("en"), key
    for name, route in routes.SCREENS.items():
        assert issubclass(route.target(), BaseScreen), name
    assert len({route.path for route in routes.SCREENS.values()}) == len(routes.SCREENS)  # one name a screen


async def test_the_start_screen_offers_the_route_tables_entries(app_factory):
    app = app_factory(lang="ja")
    async with app.run_test(size=(120, 40)) as pilot:
        start = await wait_screen(pilot, StartScreen)
        buttons = [b.id for b in start.query("Button")]
        assert buttons[:len(routes.START) + 1] == ["register", *(entry[0] for entry in routes.START)]
        for button_id, _, route in routes.START:
            start.query_one(f"#{button_id}").press()
            await wait_screen(pilot, route.target())
            app.pop_screen()
            await wait_screen(pilot, StartScreen)


def test_an_error_finds_its_handler_by_key_then_by_prefix_then_the_default():
    def by_key(e):
        return None

    def by_prefix(e):
        return None

    def longer_prefix(e):
        return None

    def default(e):
        return None

    handlers = {"family.link.used": by_key, "family.": by_prefix, "family.link.": longer_prefix}
    assert find_handler(handlers, "family.link.used") is by_key
    assert find_handler(handlers, "family.link.expired") is longer_prefix
    assert find_handler(handlers, "family.error.locked_now") is by_prefix
    assert find_handler(handlers, "error.busy") is None  # run_service then shows it (show_error)
    assert find_handler({**handlers, "*": default}, "error.busy") is default
