"""What surrounds the screens in each mode (SPEC §1). One program, one set of screens.

`BeneApp` holds one `Modes` (`app.modes`) and calls it at four points only: `on_event` (every
real key and mouse event passes `on_input` first), `action_mode` (the mode's key bindings),
`set_lang` (`relabel`) and `on_mount` (`mount`). Everything else lives here:

- **kiosk** — the idle wipe (90 s idle → a visible 15 s countdown → every screen dropped and
  rebuilt, the session's memory cleared), the return 20 s after a finished flow, no quit keys
  and no command palette, the operator's way out (ctrl+o and the PIN), the high-contrast theme.
- **demo** — the live outbox panel, the demo clock and its keys, delivery trouble, the reset
  key; and the scenario player (`ui/scenario.py`), whose overlay also lives on the active screen.

"Chrome" (the panel, the scenario bar, the done-screen countdown) is mounted into each screen
as it comes to the front (the title bar and footer are composed in the mode's shape:
ui/widgets/chrome.py); `decorate` is idempotent, so a language switch (which
recomposes screens) or a return to an earlier screen simply puts back what is missing.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from textual import events
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.theme import Theme
from textual.widgets import Input

from bene_tui.core.config import KEYS
from bene_tui.services import audit, outbox, shared_clock, snapshots
from bene_tui.services.normalize import display_login_id
from .screens.start import StartScreen
from .session import Session
from .textual_compat import app_key_bindings
from .widgets.demo_clock import DemoClock

log = logging.getLogger("bene_tui")


KIOSK_THEME = Theme(
    name="bene-kiosk",
    primary="#FFD400",
    secondary="#00E5FF",
    accent="#FFD400",
    warning="#FFB000",
    error="#FF5C5C",
    success="#3DFF8F",
    foreground="#FFFFFF",
    background="#000000",
    surface="#0D0D0D",
    panel="#1F1F1F",
    dark=True,
)

KEY_DISPLAY = {"f5": "F5–F8"}

INPUT_EVENTS = (events.Key, events.MouseDown, events.MouseUp, events.MouseMove, events.MouseScrollDown,
                events.MouseScrollUp, events.Paste)


def install(app) -> "Modes":
    """Called from BeneApp.__init__: the mode's bindings and settings before anything runs."""
    return Modes(app)


def binding_id(action: str) -> str:
    """The id a mode's key has in Textual's keymap (config.toml [keys]): "'advance', 60" → "advance_60"."""
    return "_".join(part.strip(" '") for part in action.split(","))


def is_done_screen(screen) -> bool:
    """A screen that ends a flow says so on its class: `FLOW_DONE = True` (ui/screens/routes.py)."""
    return bool(getattr(screen, "FLOW_DONE", False))


class Modes:
    def __init__(self, app) -> None:
        self.app = app
        self.monotonic: Callable[[], float] = time.monotonic  # real time for idleness; tests replace it
        self.last_input = self.monotonic()
        self.kiosk = KioskMode(self) if app.mode == "kiosk" else None
        self.demo = DemoMode(self) if app.mode == "demo" else None
        self.player = None  # scenario.Player while a scenario is loaded
        self._autoplay: tuple | None = None
        if self.kiosk:
            self.kiosk.install()
        self._bind()

    # -- bindings: added per instance, so other modes never see them ---------------------------
    def _bindings(self) -> list[tuple[str, str, str | None]]:
        """(key, action, catalogue key of the footer label or None to hide it)."""
        out: list[tuple[str, str, str | None]] = []
        if self.kiosk:
            out += self.kiosk.bindings()
        if self.demo:
            out += self.demo.bindings()
        return out

    def _bind(self) -> None:
        keymap = app_key_bindings(self.app)
        for key, action, label in self._bindings():
            keymap[key] = [Binding(key, f"mode({action})", self.app.t(label) if label else "",
                                   show=label is not None, priority=True, key_display=KEY_DISPLAY.get(key),
                                   id=binding_id(action))]

    def relabel(self) -> None:
        """After a language switch: footer labels in the new language, chrome back on the screen."""
        self._bind()
        self.app.refresh_bindings()
        self.decorate(self.app.screen)
        if self.player is not None:
            self.player.refresh_bar()

    async def action(self, name: str, *args: Any) -> None:
        for part in (self.kiosk, self.demo):
            handler = getattr(part, "action_" + name, None) if part else None
            if handler is not None:
                result = handler(*args)
                if hasattr(result, "__await__"):
                    await result
                return

    # -- start ------------------------------------------------------------------------------
    def mount(self) -> None:
        app = self.app
        app.screen_change_signal.subscribe(app, self._screen_changed)
        if self.kiosk:
            self.kiosk.mount()
        if self.demo:
            self.demo.mount()
        if self._autoplay is not None:
            scenario, speed = self._autoplay
            self._autoplay = None
            self.play(scenario, speed)
        app.call_after_refresh(self.decorate, app.screen)

    def autoplay(self, scenario, speed: float = 1.0) -> None:
        """Play `scenario` as soon as the app runs (the `play` command)."""
        self._autoplay = (scenario, speed)

    def play(self, scenario, speed: float = 1.0):
        from .scenario import Player  # start-up: only the mode in use loads its screens and widgets

        self.player = Player(self.app, scenario, speed)
        if self.demo is not None and self.demo.panel_choice is None:
            self.demo.panel_choice = True  # a scenario shows its codes arriving, whatever the width
        self.app.run_worker(self.player.run(), group="scenario", exclusive=True)
        self.decorate(self.app.screen)
        return self.player

    # -- input: every real key and mouse event, before Textual handles it ------------------------
    def on_input(self, event: events.Event) -> bool:
        """True when the event was consumed here (countdown dismissal, scenario keys)."""
        if not isinstance(event, INPUT_EVENTS) or event.is_forwarded or getattr(event, "scripted", False):
            return False
        self.touch()
        if self.player is not None and self.player.handle_human(event):
            return True
        if self.kiosk is not None and self.kiosk.on_input(event):
            return True
        return False

    def touch(self) -> None:
        self.last_input = self.monotonic()

    def idle_for(self, now: float | None = None) -> float:
        return (self.monotonic() if now is None else now) - self.last_input

    # -- chrome on the active screen ------------------------------------------------------------
    def _screen_changed(self, screen) -> None:
        self.app.call_after_refresh(self.decorate, screen)

    def decorate(self, screen, tries: int = 3) -> None:
        if screen is None or isinstance(screen, ModalScreen) or not screen.is_attached:
            return
        if type(screen) is Screen or getattr(screen, "NO_CHROME", False):
            return  # the blank default screen under the stack
        if not screen.is_mounted or (not screen.children and tries):
            self.app.call_after_refresh(self.decorate, screen, tries - 1)
            return
        if self.demo:
            self.demo.decorate(screen)
        if self.kiosk:
            self.kiosk.decorate(screen)
        if self.player is not None and self.player.bar_visible:
            from .widgets.scenario_bar import ScenarioBar  # start-up: only the mode in use loads its screens and widgets

            if not screen.query(ScenarioBar):
                screen.mount(ScenarioBar(id="scenario-bar"))
        self.fit_bar(screen)

    def fit_bar(self, screen) -> None:
        """The scenario bar's text starts beside the outbox panel (text across the panel's edge
        would be garbled where the two overlap); the bar covers the panel's last lines."""
        bars = screen.query("ScenarioBar")  # by name: the widgets' modules load where they are shown
        if not bars:
            return
        from .widgets.live_outbox import LiveOutbox  # start-up: only the mode in use loads its screens and widgets

        left = LiveOutbox.WIDTH if any(p.display for p in screen.query(LiveOutbox)) else 0
        for bar in bars:
            bar.styles.padding = (0, 1, 0, left + 1)

    # -- the session ----------------------------------------------------------------------------
    def wipe_session(self, keep_lang: bool = False) -> None:
        """Drop every screen and everything the session put in memory; a fresh start screen returns.

        Screens hold the typed values and flow ids; popping them removes their widgets. The app
        keeps one person's use in `app.session` (ui/session.py): replaced by a new one.
        Notifications (which may name a login ID) and the clipboard are cleared too. `keep_lang`:
        a presenter who stopped a scenario stays in the language they chose.
        """
        app = self.app
        for screen in app.screen_stack:  # scrub first: a removed widget may linger until collected
            for field in screen.query(Input):
                with field.prevent(Input.Changed):
                    field.value = ""
        while len(app.screen_stack) > 1:
            app.pop_screen()
        app.session = Session.new(app.clock.now())  # everything of the last person, in one object
        app.clear_notifications()
        try:
            app.copy_to_clipboard("")
        except Exception:  # no terminal to tell (headless)
            pass
        if app.lang != app.settings.lang and not keep_lang:  # the next person starts in the terminal's language
            app.lang = app.settings.lang
            app.title = app.t("app.title")
            self._bind()
            app.refresh_bindings()
        app.push_screen(StartScreen())
        self.touch()


# ---------------------------------------------------------------------------------------------
# Kiosk


class KioskMode:
    def __init__(self, modes: Modes) -> None:
        self.modes = modes
        self.app = modes.app
        self.countdown_until: float | None = None

    @property
    def rules(self):
        return self.app.settings.rules

    def install(self) -> None:
        """No quit keys, no command palette: only the operator leaves, with the PIN."""
        app = self.app
        app.use_command_palette = False
        keymap = app_key_bindings(app)
        for key, bindings in list(keymap.items()):
            if any(b.action in ("quit", "app.quit", "help_quit", "app.help_quit", "command_palette",
                                "app.command_palette", "suspend_process", "app.suspend_process") for b in bindings):
                del keymap[key]

    def bindings(self) -> list[tuple[str, str, str | None]]:
        return [(KEYS["operator"], "'operator'", None)]

    def mount(self) -> None:
        app = self.app
        app.register_theme(KIOSK_THEME)
        app.theme = KIOSK_THEME.name
        app.add_class("kiosk")
        app.set_interval(1.0, self.tick, name="kiosk-idle")

    # -- the operator's exit ----------------------------------------------------------------------
    def action_operator(self) -> None:
        from .screens.kiosk import OperatorExitScreen  # start-up: only the mode in use loads its screens and widgets

        if not isinstance(self.app.screen, OperatorExitScreen):
            self.cancel_countdown()
            self.app.push_screen(OperatorExitScreen())

    # -- idleness ---------------------------------------------------------------------------------
    def on_input(self, event) -> bool:
        if self.countdown_until is not None and not isinstance(event, events.MouseMove):
            self.cancel_countdown()
            return True  # this key or click only said "I'm still here"
        return False

    def session_dirty(self) -> bool:
        """Is there anything of a person to wipe? An untouched start screen is left alone."""
        app = self.app
        if app.session.dirty() or app.lang != app.settings.lang:
            return True
        stack = app.screen_stack
        if len(stack) > 2 or not isinstance(stack[-1], StartScreen):
            return True
        return any(w.value for w in stack[-1].query(Input))

    def tick(self, now: float | None = None) -> None:
        """Once a second (tests call it with a fake monotonic clock)."""
        from .screens.kiosk import CountdownScreen  # start-up: only the mode in use loads its screens and widgets

        now = self.modes.monotonic() if now is None else now
        if self.countdown_until is not None:
            left = self.countdown_until - now
            if left <= 0:
                self.countdown_until = None
                self.wipe()
            elif isinstance(self.app.screen, CountdownScreen):
                self.app.screen.set_remaining(left)
            return
        idle = self.modes.idle_for(now)
        screen = self.app.screen
        if is_done_screen(screen):
            left = self.rules.kiosk_done_return - idle
            if left <= 0:
                self.wipe()
            else:
                for widget in screen.query("#kiosk-done-countdown"):
                    widget.set_remaining(left)
            return
        if idle >= self.rules.kiosk_idle and self.session_dirty():
            self.countdown_until = now + self.rules.kiosk_countdown
            self.app.push_screen(CountdownScreen(self.rules.kiosk_countdown))

    def cancel_countdown(self) -> None:
        from .screens.kiosk import CountdownScreen  # start-up: only the mode in use loads its screens and widgets

        if self.countdown_until is None:
            return
        self.countdown_until = None
        if isinstance(self.app.screen, CountdownScreen):
            self.app.pop_screen()

    def wipe(self) -> None:
        self.countdown_until = None
        self.modes.wipe_session()
        audit_wipe(self.app)

    def decorate(self, screen) -> None:
        """A finished flow shows when it will return to the start on its own."""
        from .widgets.idle_countdown import IdleCountdown  # start-up: only the mode in use loads its screens and widgets

        if not is_done_screen(screen) or screen.query("#kiosk-done-countdown"):
            return
        boxes = screen.query(".box")
        target = boxes.first() if boxes else screen
        left = self.rules.kiosk_done_return - self.modes.idle_for()
        target.mount(IdleCountdown(int(max(left, 0)), key="kiosk.done_return", big=False, id="kiosk-done-countdown"))


def audit_wipe(app) -> None:
    """The wipe is a state change of the terminal: one audit row (no personal data in it)."""
    def record(ctx) -> None:
        with ctx.tx():
            audit.record(ctx, "kiosk.wipe", f"terminal:{ctx.terminal}", "ok")

    if app.ctx is not None:
        app.run_worker(app.try_call(record), group="kiosk-audit")  # a server restart never stops the wipe


# ---------------------------------------------------------------------------------------------
# Demo


class DemoMode:
    CLOCK_STEPS = (60, 600, 3600, 86400)  # seconds each of F5–F8 moves the demo clock on

    def __init__(self, modes: Modes) -> None:
        self.modes = modes
        self.app = modes.app
        self.panel_choice: bool | None = None  # F3's choice; None: shown when the terminal has room
        self.panel_seen_id: int | None = None  # the newest message a live panel has shown
        self.panel_fresh_until = 0.0  # real (monotonic) time until which the panel stays highlighted
        self._seen_id: int | None = None
        self.trouble: dict = {}  # the store's delivery trouble, as last read (F9, or another terminal)

    def bindings(self) -> list[tuple[str, str, str | None]]:
        """F5–F8 share one footer entry (the footer of a 120-column terminal is full)."""
        out = [(KEYS["panel"], "'panel'", "demo.key_panel")]
        out += [(KEYS[f"advance_{seconds}"], f"'advance', {seconds}", "demo.key_clock" if i == 0 else None)
                for i, seconds in enumerate(self.CLOCK_STEPS)]
        out += [(KEYS["trouble"], "'trouble'", "demo.key_trouble"), (KEYS["reset"], "'reset'", "demo.key_reset")]
        out += [(KEYS["rewind"], "'rewind'", None)]  # not in the (full) footer: see README
        return out

    def mount(self) -> None:
        self.app.set_interval(1.0, self.poll, name="demo-poll")
        self.app.run_worker(self.remember_start(), group="demo-snapshot")

    # -- rewind: back to the snapshot the demo started from (services/snapshots.py) ---------------------------
    start_snapshot: str | None = None

    async def remember_start(self) -> None:
        try:
            self.start_snapshot = await self.app.call(snapshots.start_point)
        except Exception:  # e.g. a full disk: the demo runs on, only without its rewind point
            log.exception("could not save the demo's start snapshot")

    def action_rewind(self) -> None:
        from .screens.demo import ConfirmResetScreen  # start-up: only the mode in use loads its screens and widgets

        if isinstance(self.app.screen, ConfirmResetScreen):
            return
        if self.start_snapshot is None:
            self.app.notify(self.app.t("demo.rewind_none"), severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.run_worker(self.rewind(), group="demo-reset", exclusive=True)

        self.app.push_screen(ConfirmResetScreen("demo.rewind", name=self.start_snapshot), answered)

    async def rewind(self) -> None:
        try:
            await self.app.call(snapshots.restore, self.start_snapshot)
        except Exception as exc:  # the snapshot deleted meanwhile, a full disk: the demo stays as it is
            log.exception("could not rewind to snapshot %s", self.start_snapshot)
            self.app.notify(self.app.t("demo.rewind_failed", name=self.start_snapshot, error=str(exc)),
                            severity="error", timeout=15, markup=False)
            return
        await self.fresh_start()
        self.app.notify(self.app.t("demo.rewind_done", name=self.start_snapshot), markup=False)

    # -- chrome: the live outbox on the right ------------------------------------------------------
    def decorate(self, screen) -> None:
        """The live outbox beside the screen (the demo clock and the compact footer come with the
        screen itself: ui/widgets/chrome.py)."""
        self.show_trouble(screen)
        panels = screen.query("LiveOutbox")  # by name: the panel's modules load with the first panel shown
        if panels:
            panels.first().display = self.panel_visible
        elif self.panel_visible:
            from .screens.outbox import OutboxScreen  # start-up: only the mode in use loads its screens and widgets
            from .widgets.live_outbox import LiveOutbox  # start-up: only the mode in use loads its screens and widgets

            if not isinstance(screen, OutboxScreen):
                screen.mount(LiveOutbox(), before=0)  # first: the header and footer draw over its ends

    # The flow's box is up to 96 columns wide; beside a 40-column panel it needs 140 to keep its
    # layout (step labels, one-line hints). Narrower terminals start without it; F3 shows it anyway,
    # down to the width where the screens would no longer fit beside it (80 columns of their own,
    # as on an 80×24 terminal): on a projector's 100 columns the panel gives way; F2 shows the outbox.
    ROOM_FOR_PANEL = 140
    SCREEN_MIN = 80

    @property
    def panel_fits(self) -> bool:
        from .widgets.live_outbox import LiveOutbox  # start-up: only the mode in use loads its screens and widgets

        return self.app.size.width >= LiveOutbox.WIDTH + self.SCREEN_MIN

    @property
    def panel_visible(self) -> bool:
        if self.panel_choice is None:  # ROOM_FOR_PANEL is more than the panel and a screen need
            return self.app.size.width >= self.ROOM_FOR_PANEL
        return self.panel_choice and self.panel_fits

    def action_panel(self) -> None:
        if not self.panel_fits:
            self.app.notify(self.app.t("demo.panel_no_room"), timeout=4)
            return
        self.panel_choice = not self.panel_visible
        self.show_panels()

    def show_panels(self) -> None:
        """Every screen's panel as wide as the terminal now allows (F3, or a resize)."""
        for screen in self.app.screen_stack:
            for panel in screen.query("LiveOutbox"):
                panel.display = self.panel_visible
        self.modes.decorate(self.app.screen)

    async def refresh_chrome(self) -> None:
        from .widgets.live_outbox import LiveOutbox  # start-up: only the mode in use loads its screens and widgets
        from .widgets.outbox_view import OutboxView  # start-up: as LiveOutbox (which loads it)

        screen = self.app.screen
        for clock in screen.query(DemoClock):
            clock.refresh_time()
        for panel in screen.query(LiveOutbox):
            await panel.refresh_lists()
        for view in screen.query(OutboxView):  # F2 in demo mode: its code marked as the clock moves it
            if not isinstance(view, LiveOutbox):
                await view.refresh_code_mark()

    # -- the demo clock ---------------------------------------------------------------------------
    async def action_advance(self, seconds: int) -> None:
        await self.advance(seconds)
        self.app.notify(self.app.t("demo.advanced", time=self.app.clock.local().strftime("%Y-%m-%d %H:%M")),
                        timeout=2)

    async def advance(self, seconds: float) -> None:
        """Every terminal on the store moves with this one (services/shared_clock.py)."""
        await self.app.call(shared_clock.advance, seconds)
        await self.app.call(outbox.deliver_due)  # late SMS whose time has come arrive now
        await self.refresh_chrome()

    # -- delivery trouble and what it does --------------------------------------------------------
    def action_trouble(self) -> None:
        from .screens.demo import DemoTroubleScreen  # start-up: only the mode in use loads its screens and widgets

        if not isinstance(self.app.screen, DemoTroubleScreen):
            self.app.push_screen(DemoTroubleScreen())

    def show_trouble(self, screen=None) -> None:
        """The header's badge says, for as long as it lasts, that messages are being held up."""
        on, text = any(self.trouble.values()), ""
        if on:
            from .screens.demo import trouble_summary  # start-up: only the mode in use loads its screens and widgets

            text = self.app.t("demo.trouble_badge", summary=trouble_summary(self.app.t, self.trouble))
        for badge in (screen or self.app.screen).query("#trouble-badge"):
            badge.set_class(on, "on")
            badge.update(text)

    async def poll(self) -> None:
        """New messages that failed or were delayed are said out loud, where the presenter looks;
        the delivery trouble badge follows the store (another terminal may have set it)."""
        app = self.app
        if app.ctx is None:
            return
        trouble = await app.try_call(outbox.trouble)
        last = await app.try_call(outbox.last_id)
        if trouble is app.NOT_NOW or last is app.NOT_NOW:  # the store busy or reconnecting: the next poll looks
            return
        if trouble != self.trouble:
            self.trouble = trouble
            self.show_trouble()
        if self._seen_id is None or last < self._seen_id:  # first look, or the data was reset
            self._seen_id = last
            return
        if last == self._seen_id:
            return
        rows = await app.try_call(outbox.messages, None, None, last - self._seen_id)
        if rows is app.NOT_NOW:
            return
        self._seen_id = last
        for row in reversed(rows):
            self.announce(row)

    def announce(self, row: dict) -> None:
        app = self.app
        to = display_login_id(row["recipient"])
        if row["status"] == "failed":
            app.notify(app.t("demo.sent_failed", to=to, channel=app.t("demo.channel_" + row["channel"])),
                       severity="error", timeout=10, markup=False)
            screen = app.screen
            if getattr(screen, "recipient", None) == row["recipient"]:
                for button in screen.query("#resend"):
                    button.focus()  # the step that sent it offers the resend
        elif row["status"] == "queued":
            minutes = max(1, round((row["deliver_at"] - row["created_at"]) / 60))
            app.notify(app.t("demo.sent_late", to=to, minutes=minutes), severity="warning", timeout=8,
                       markup=False)

    # -- reset --------------------------------------------------------------------------------------
    def action_reset(self) -> None:
        from .screens.demo import ConfirmResetScreen  # start-up: only the mode in use loads its screens and widgets

        if isinstance(self.app.screen, ConfirmResetScreen):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.run_worker(self.reset(), group="demo-reset", exclusive=True)

        self.app.push_screen(ConfirmResetScreen(), answered)

    async def reset(self, notify: bool = True) -> None:
        from bene_tui.services import roster  # start-up: the demo reset only; the services load behind the first frame

        result = await self.app.call(roster.reset_demo)
        await self.fresh_start()
        if notify:
            self.app.notify(self.app.t("demo.reset_done", organisations=result.organisations,
                                       members=result.members))

    async def fresh_start(self) -> None:
        """After the data was replaced: the demo clock at the present (on every terminal of the store),
        the panel and the session anew."""
        await self.app.call(shared_clock.reset)
        self.app.clock.reset()
        self._seen_id = self.panel_seen_id = None
        self.modes.wipe_session()
