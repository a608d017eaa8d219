"""BeneApp: one program, three modes (kiosk, helpdesk, demo), two languages."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches

from bene_tui.core.clock import Clock
from bene_tui.core import runtime_tricks
from bene_tui.core.config import KEYS, Settings
from bene_tui.core.errors import BeneError
from bene_tui.core.i18n import t as translate
from bene_tui.services import shared_clock
from .modes import install as install_modes
from .screens import routes
from .screens.start import StartScreen
from .session import Session
from .textual_compat import app_running, clear_render_caches, trim_outlines_by_cells
from .widgets import jtext
from .widgets.chrome import AppHeader

log = logging.getLogger("bene_tui")


class BeneApp(App):
    """Start it as the CLI does: `BeneApp(db_path=None, lang=None, mode=None, open_link=None)`."""

    CSS_PATH = "app.tcss"  # and ui/kiosk.tcss in kiosk mode (its rules are all under .kiosk)
    # Textual's command palette offers only Textual's own commands, in English: none for this app.
    ENABLE_COMMAND_PALETTE = False
    TITLE = "ベネアカウント"
    BINDINGS = [
        Binding(KEYS["outbox"], "outbox", "Outbox", priority=True, id="outbox"),  # ids: config.toml [keys] remaps them
        Binding(KEYS["language"], "toggle_lang", "言語/Language", priority=True, id="language"),
    ]

    def __init__(self, db_path: str | None = None, lang: str | None = None, mode: str | None = None,
                 open_link: str | None = None, *, settings: Settings | None = None, clock: Clock | None = None,
                 secret_store=None) -> None:
        runtime_tricks.freeze_imports()  # core/runtime_tricks.py, as the quiet collector below
        trim_outlines_by_cells()  # a focused button's label whole (ui/textual_compat.py)
        settings = settings or Settings.from_env(db_path=db_path, lang=lang, mode=mode)
        super().__init__(css_path=["app.tcss", "kiosk.tcss"] if settings.mode == "kiosk" else None)
        self.settings = settings
        if db_path:
            self.settings.db_path = db_path
        self.ctx = None  # the services' Context, opened off the event loop
        self.lang = self.settings.lang
        self.mode = self.settings.mode
        self.clock = clock or Clock()
        self._secret_store = secret_store
        self.seeded = False
        self._ctx_ready = asyncio.Event()
        self.session = Session.new(self.clock.now(), start_link=open_link)  # one person's use (ui/session.py)
        self.operator: str | None = None  # the helpdesk agent, typed once per shift (ui/screens/helpdesk.py)
        self.guide_visible = False  # F1's guide panel (helpdesk, demo)
        self.modes = install_modes(self)  # kiosk / demo behaviour around the screens (ui/modes.py)
        self.quiet_gc = runtime_tricks.QuietCollector(self)  # garbage collected between screen changes
        if self.settings.keymap:  # config.toml [keys]: for terminals whose F-keys are taken
            self.set_keymap(self.settings.keymap)

    # -- start-up: the start screen first, the database behind it --------------------------
    def on_mount(self) -> None:
        jtext.defer_loading()  # BudouX loads behind the start screen (in _open)
        self.title = self.t("app.title")
        self.quiet_gc.start()
        self.push_screen(StartScreen())
        self.modes.mount()
        # The database opens once the start screen is on show: it must not compete with it (bench/startup.py).
        self.call_after_refresh(self.run_worker, self._open, thread=True, exclusive=True, group="startup")
        self.set_interval(1.0, self._sync_clock, name="shared-clock")

    def on_unmount(self) -> None:
        self.quiet_gc.stop()

    def action_help_quit(self) -> None:
        """Ctrl+C: Textual's hint how to quit, in the app's language."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(self.t("app.help_quit", shortcut=key), title=self.t("app.help_quit_title"), markup=False)
                return

    def _handle_exception(self, error: Exception) -> None:
        # A screen being composed ahead (ui/screens/ahead.py) when the app closes is torn down halfway:
        # its on_mount then finds no widgets. Nobody saw it and nothing is lost, so it is no error.
        if isinstance(error, NoMatches) and not app_running(self):
            log.debug("screen composed ahead cut short by the app closing: %s", error)
            return
        super()._handle_exception(error)

    def _open(self) -> None:
        from bene_tui.services.context import open_context  # start-up: the store's modules load in this thread, behind the start screen

        jtext.load_parser()
        self.call_from_thread(jtext.rewrap, self)
        try:
            ctx, seeded = open_context(self.settings, clock=self.clock, secret_store=self._secret_store)
        except Exception as exc:  # an unreadable or foreign file: say so instead of a traceback
            log.exception("could not open the database")
            self.call_from_thread(self._failed, exc)
            return
        self.call_from_thread(self._opened, ctx, seeded)

    def _failed(self, exc: Exception) -> None:
        self.notify(self.t("app.db_failed", path=self.settings.db_path or "", error=type(exc).__name__),
                    severity="error", timeout=30, markup=False)

    def _opened(self, ctx, seeded: bool) -> None:
        self.ctx, self.seeded = ctx, seeded
        self.lang = self.lang  # the services write their messages in it too
        self._ctx_ready.set()
        if seeded:
            self.notify(self.t("app.seeded"), timeout=6)
        if self.session.start_link:
            self.open_link(self.session.start_link)

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a service function in a worker thread with the Context first; the screen stays live."""
        await self._ctx_ready.wait()
        ctx = self.ctx

        def run() -> Any:
            ctx.sync_clock()  # the time every terminal on the store shares (services/shared_clock.py)
            return fn(ctx, *args, **kwargs)

        try:
            return await asyncio.to_thread(run)
        except Exception as exc:  # "database is locked" from a read never reaches the screen as such
            from bene_tui.store import busy_error, is_busy  # start-up: loaded by _open's thread, not before the first frame

            if is_busy(exc):
                raise busy_error(exc) from exc
            raise

    NOT_NOW = object()

    async def try_call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`call` for what a timer or a background worker does: while the store is busy or the
        server restarts it returns `App.NOT_NOW` instead of raising (an exception there would end
        the app; the next tick looks again)."""
        try:
            return await self.call(fn, *args, **kwargs)
        except BeneError as exc:
            if exc.key != "error.busy":
                raise
            log.info("background read skipped, the store is busy: %s", getattr(fn, "__name__", fn))
            return self.NOT_NOW

    async def _sync_clock(self) -> None:
        """Once a second: the demo clock another terminal on the store may have moved (services/shared_clock.py)."""
        if self.ctx is not None:
            await self.try_call(shared_clock.load)

    # -- language ------------------------------------------------------------------------
    def t(self, key: str, **params: Any) -> str:
        return translate(self.lang, key, **params)

    async def action_toggle_lang(self) -> None:
        await self.set_lang("en" if self.lang == "ja" else "ja")

    @property
    def lang(self) -> str:
        """The one language of the terminal: the screens' and, through `ctx.lang`, the services'."""
        return self._lang

    @lang.setter
    def lang(self, lang: str) -> None:
        self._lang = lang
        if self.ctx is not None:
            self.ctx.lang = lang

    async def set_lang(self, lang: str) -> None:
        self.lang = lang
        self.title = self.t("app.title")
        for screen in self.screen_stack:
            relabel = getattr(screen, "relabel", None)
            if relabel is not None:
                await relabel()
        self.modes.relabel()

    def watch_title(self, title: str) -> None:
        for screen in self.screen_stack:
            for header in screen.query(AppHeader):
                header.show_title(title)

    SHORT = 30  # rows below which the app carries the class -short (kiosk.tcss: the start screen fits 24)

    def on_resize(self) -> None:
        self.set_class(self.size.height < self.SHORT, "-short")
        if self.modes.demo is not None:  # the live panel gives way where the screens would not fit
            self.call_after_refresh(self.modes.demo.show_panels)  # once the app has taken its new size

    # -- modes: every real key and mouse event passes the mode first (idle timer, scenario keys) --
    async def on_event(self, event) -> None:
        if not self.modes.on_input(event):
            await super().on_event(event)

    async def action_mode(self, name: str, *args: Any) -> None:
        await self.modes.action(name, *args)

    # -- navigation ----------------------------------------------------------------------
    def action_outbox(self) -> None:
        if not isinstance(self.screen, routes.OUTBOX.target()):
            self.push_screen(routes.OUTBOX())

    def pop_screen(self):
        result = super().pop_screen()
        clear_render_caches()  # textual#6665 (ui/textual_compat.py)
        return result

    # -- the kiosk outbox: only what this session owns (outbox.KioskScope) ----------------------
    def grant_flow(self, flow_id: str) -> None:
        """A registration started here: its step-3 codes are this session's to read."""
        self.session.outbox.allow_flow(flow_id)

    def grant_owner(self, login_id: str) -> None:
        """A login ID proven here (its code entered, or its password): what it is sent from now on."""
        self.session.outbox.allow_owner(login_id)

    def outbox_scope(self):
        """What the outbox viewer may show: everything, except in a kiosk (outbox.KioskScope)."""
        return self.session.outbox if self.mode == "kiosk" else None

    def go_home(self) -> None:
        """Back to the start screen, dropping every flow screen above it."""
        while len(self.screen_stack) > 2 and not isinstance(self.screen, StartScreen):
            self.pop_screen()

    def open_link(self, url: str) -> None:
        """A link from a message opens its step (ui/screens/routes.py LINKS)."""
        routes.open_link(self, url)
