"""Scenarios: TOML files that play a flow through the real screens, at a human pace.

    title = {ja = "メールアドレスで新規登録", en = "New registration by e-mail"}
    lang = "ja"          # the language the scenario's captions and expectations are written for
    reset = true         # restore the demo data first (default true)
    setup = [{register = {group_id = "BO100001", key1 = "100301", key2 = "19900715",
                          login_id = "misaki@example.jp", password = "..."}}]
    steps = [
      {say = {ja = "...", en = "..."}},
      {press = "#register"},
      {type = "#group_id", text = "BO100001"},
      {key = "tab"},
      {wait_screen = "registration.step3"},
      {read_code_for = "taro@example.jp", into = "#code"},
      {open_link_for = "taro@example.jp", purpose = "approval_request"},
      {advance = "10m"},
      {expect = "..."},
    ]

Steps (one action each): `press` a button, checkbox or radio button; `type` text into an input
(one character at a time); `key` one key or a list of keys (through the app's bindings, as if
pressed); `select` a value in a Select; `wait_screen` for a screen, by its name in the route table
(`routes.SCREENS`, e.g. "registration.step3"); `read_code_for` the
newest code sent to a login ID (typed `into` a field); `open_link_for` the newest link sent to a
login ID (optionally of a `purpose`); `advance` the demo clock ("90s", "10m", "1h", "2d", "1h30m");
`trouble` delivery settings (as the demo's F9); `say` a caption; `expect` a text on screen;
`pause` a number of seconds. Any step may carry `timeout` (real seconds to wait, default 20).

Speed: 1 is a human pace (40 ms per character), 2 twice as fast, 0 no waiting at all (tests).
The presenter pauses with Space or P, steps with N, changes the speed with + and -, stops with Esc.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, Static

from bene_tui.core.errors import ValidationError
from bene_tui.core.i18n import t as translate
from bene_tui.core.paths import SCENARIOS_DIR
from bene_tui.services import outbox, registration, roster, shared_clock
from bene_tui.services.normalize import display_login_id, login_id as parse_login_id
from .screens import routes
from .textual_compat import notifications
from .widgets.scenario_bar import ScenarioBar

log = logging.getLogger("bene_tui")

CHAR_DELAY = 0.04  # seconds per typed character at speed 1
DEFAULT_TIMEOUT = 20.0
ACTIONS: dict[str, tuple[str, ...]] = {  # action → the other keys it allows
    "press": (), "type": ("text",), "key": (), "select": ("value",), "wait_screen": (),
    "read_code_for": ("into", "purpose"), "open_link_for": ("purpose",), "advance": (), "trouble": (),
    "say": (), "expect": (), "pause": (),
}
COMMON = ("timeout",)
SETUP_ACTIONS = {"register": ("group_id", "key1", "key2", "login_id", "password")}
KEY_CHARS = {"tab": "\t", "enter": "\r", "space": " ", "escape": "\x1b", "backspace": "\x08"}


class ScenarioError(ValueError):
    """A scenario file that cannot be played: names the file and the step."""


class ScenarioFailed(Exception):
    """A step that could not be done on the screen as it was (a widget never appeared...)."""


@dataclass
class Step:
    action: str
    arg: Any
    opts: dict[str, Any] = field(default_factory=dict)
    number: int = 0

    def describe(self) -> str:
        arg = self.arg if not isinstance(self.arg, dict) else next(iter(self.arg.values()), "")
        return f"{self.number}: {self.action} {arg!s}"[:80]


@dataclass
class Scenario:
    name: str
    title: dict[str, str]
    steps: list[Step]
    lang: str = "ja"
    reset: bool = True
    setup: list[Step] = field(default_factory=list)
    path: Path | None = None

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("ja") or self.name


# ---------------------------------------------------------------------------------------------
# Parsing: everything a file can get wrong is found before anything plays.


def parse_duration(text: object) -> int:
    """"90s", "10m", "1h30m", "2d", or a number of seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = int(text)
    else:
        raw = str(text).strip().lower().replace(" ", "")
        parts = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?(?:(\d+)s)?", raw)
        if not raw or not parts:
            raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 10m, 1h, 2d)")
        d, h, m, s = (int(x or 0) for x in parts.groups())
        seconds = ((d * 24 + h) * 60 + m) * 60 + s
    if seconds <= 0:
        raise ValueError(f"a duration must be positive: {text!r}")
    return seconds


def _texts(value: object, what: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"ja": value, "en": value}
    if isinstance(value, dict) and value and all(k in ("ja", "en") and isinstance(v, str) for k, v in value.items()):
        return dict(value)
    raise ValueError(f"{what} must be a text or {{ja = ..., en = ...}}")


def _recipient(value: object) -> str:
    try:
        return parse_login_id(value).value
    except ValidationError:
        raise ValueError(f"not an e-mail address or Japanese mobile number: {value!r}") from None


def _step(raw: object, number: int) -> Step:
    if not isinstance(raw, dict):
        raise ValueError("a step is a table such as {press = \"#next\"}")
    actions = [k for k in raw if k in ACTIONS]
    if len(actions) != 1:
        raise ValueError(f"a step needs exactly one of {', '.join(ACTIONS)} (got {', '.join(raw) or 'nothing'})")
    action = actions[0]
    extra = set(raw) - {action, *ACTIONS[action], *COMMON}
    if extra:
        raise ValueError(f"{action}: unknown key(s) {', '.join(sorted(extra))}")
    arg = raw[action]
    opts = {k: v for k, v in raw.items() if k != action}
    if "timeout" in opts and (not isinstance(opts["timeout"], (int, float)) or opts["timeout"] <= 0):
        raise ValueError("timeout must be a positive number of seconds")
    if action in ("press", "type", "select"):
        if not isinstance(arg, str) or not arg.startswith(("#", ".")) and not arg[:1].isalpha():
            raise ValueError(f"{action} needs a selector such as \"#next\"")
    if action == "type" and not isinstance(opts.get("text"), str):
        raise ValueError("type needs text = \"...\"")
    if action == "select" and "value" not in opts:
        raise ValueError("select needs value = \"...\"")
    if action == "key":
        keys = [arg] if isinstance(arg, str) else arg
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
            raise ValueError("key needs a key name or a list of them (e.g. \"tab\" or [\"tab\", \"enter\"])")
        arg = keys
    if action == "wait_screen" and (not isinstance(arg, str) or arg not in routes.SCREENS):
        raise ValueError(f"wait_screen: unknown screen {arg!r} (the screens are named in ui/screens/routes.py"
                         f" SCREENS: {', '.join(routes.SCREENS)})")
    if action in ("read_code_for", "open_link_for"):
        arg = _recipient(arg)
        if action == "read_code_for" and not isinstance(opts.get("into"), str):
            raise ValueError("read_code_for needs into = \"#code\"")
    if action == "advance":
        arg = parse_duration(arg)
    if action in ("say", "expect"):
        arg = _texts(arg, action)
    if action == "pause" and (not isinstance(arg, (int, float)) or arg < 0):
        raise ValueError("pause needs a number of seconds")
    if action == "trouble":
        if not isinstance(arg, dict) or set(arg) - {"sms_delay_min", "fail_email", "fail_sms"}:
            raise ValueError("trouble takes sms_delay_min, fail_email, fail_sms")
    return Step(action, arg, opts, number)


def _setup(raw: object, number: int) -> Step:
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in SETUP_ACTIONS:
        raise ValueError(f"a setup entry is one of {', '.join(SETUP_ACTIONS)}")
    action, arg = next(iter(raw.items()))
    need = SETUP_ACTIONS[action]
    if not isinstance(arg, dict) or set(arg) != set(need) or not all(isinstance(v, str) for v in arg.values()):
        raise ValueError(f"{action} needs exactly {', '.join(need)} (as texts)")
    return Step(action, dict(arg), {}, number)


def parse(text: str, name: str = "scenario", path: Path | None = None) -> Scenario:
    where = str(path or name)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{where}: not valid TOML: {exc}") from None
    unknown = set(data) - {"title", "lang", "reset", "setup", "steps", "description"}
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        title = _texts(data.get("title", name), "title")
    except ValueError as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    lang = data.get("lang", "ja")
    if lang not in ("ja", "en"):
        raise ScenarioError(f"{where}: lang must be ja or en")
    if not isinstance(data.get("reset", True), bool):
        raise ScenarioError(f"{where}: reset must be true or false")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScenarioError(f"{where}: no steps (steps = [ ... ])")
    steps, setup = [], []
    for i, raw in enumerate(data.get("setup", []), 1):
        try:
            setup.append(_setup(raw, i))
        except ValueError as exc:
            raise ScenarioError(f"{where}: setup {i}: {exc}") from None
    for i, raw in enumerate(raw_steps, 1):
        try:
            steps.append(_step(raw, i))
        except ValueError as exc:
            raise ScenarioError(f"{where}: step {i}: {exc}") from None
    return Scenario(name=name, title=title, steps=steps, lang=lang, reset=data.get("reset", True), setup=setup,
                    path=path)


def available() -> list[str]:
    """The scenarios shipped in data/scenarios/, by name."""
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.toml"))


def load(name_or_path: str) -> Scenario:
    """A shipped scenario by name (`registration_email`) or any file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = SCENARIOS_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        names = ", ".join(available()) or "none"
        raise ScenarioError(f"no such scenario: {name_or_path} (shipped: {names})")
    return parse(path.read_text(encoding="utf-8"), name=path.stem, path=path)


# ---------------------------------------------------------------------------------------------
# Setup: the world a scenario starts from, made through the services (no screens).


def setup_register(ctx, group_id: str, key1: str, key2: str, login_id: str, password: str) -> str:
    """An account that is already registered (e.g. for linking or a forgotten password)."""
    started = registration.start(ctx, group_id, key1, key2)
    kind = "email" if "@" in login_id else "sms"
    message = registration.submit_credentials(ctx, started.flow_id, kind, login_id, password, True, ctx.lang)
    registration.verify_code(ctx, started.flow_id, message["code"])
    registration.complete(ctx, started.flow_id, True)
    return message["recipient"]


def newest_with(ctx, recipient: str, what: str, purpose: str | None, after_id: int) -> dict | None:
    """The newest delivered message to `recipient` carrying a code or link, sent after `after_id`."""
    for row in outbox.messages(ctx, recipient=recipient, limit=50):  # newest first; delivers due ones
        if row["id"] <= after_id:
            break
        if row["status"] == "sent" and row.get(what) and (purpose is None or row["purpose"] == purpose):
            return row
    return None


# ---------------------------------------------------------------------------------------------
# The player: runs as a worker in the app's event loop and drives the screens as a person would.


class Player:
    def __init__(self, app, scenario: Scenario, speed: float = 1.0) -> None:
        self.app = app
        self.scenario = scenario
        self.speed = max(0.0, float(speed))
        self.index = 0  # the step being played (0-based)
        self.paused = False
        self.captions: dict[str, str] = {}  # the caption in each language: F4 switches it live
        self.finished = False  # every step was played
        self.stopped = False  # the presenter stopped it
        self.error: str | None = None  # why it stopped on its own
        self.done = False  # finished, stopped or failed
        self.bar_visible = True
        self.start_id = 0
        self._resume = asyncio.Event()
        self._resume.set()
        self._one_step = False

    # -- the presenter's keys ---------------------------------------------------------------------
    def handle_human(self, event) -> bool:
        """Keys and clicks of a person while a scenario plays: only the player's keys count."""
        if self.done:
            if isinstance(event, events.Key) and event.key == "escape" and self.bar_visible:
                self.hide_bar()
                return True
            return False
        if not isinstance(event, events.Key):
            return isinstance(event, (events.MouseDown, events.MouseUp))  # no clicks into a playing flow
        key = event.key
        if key in ("space", "p"):
            self.set_paused(not self.paused)
        elif key == "n":
            self._one_step = True
            self.set_paused(True)
            self._resume.set()
        elif key in ("plus", "equals_sign", "+", "="):
            self.set_speed(self.speed * 1.5 if self.speed else 0)
        elif key in ("minus", "hyphen", "-"):
            self.set_speed(self.speed / 1.5 if self.speed else 1.0)
        elif key == "escape":
            self.stop()
        elif key in ("ctrl+q", "f3", "f4"):
            return False  # quitting, the outbox panel and the language stay with the presenter
        return True

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if paused:
            self._resume.clear()
        else:
            self._resume.set()
        self.refresh_bar()

    def set_speed(self, speed: float) -> None:
        self.speed = min(max(speed, 0.1), 20.0) if speed else 0.0
        self.refresh_bar()

    def stop(self) -> None:
        """The presenter's Esc: the scenario ends and a clean start screen returns (nothing half-typed)."""
        self.stopped = True
        self._resume.set()
        for worker in self.app.workers:
            if worker.group == "scenario":
                worker.cancel()
        self._end()
        self.app.modes.wipe_session(keep_lang=True)

    def hide_bar(self) -> None:
        self.bar_visible = False
        for screen in self.app.screen_stack:
            for bar in screen.query(ScenarioBar):
                bar.remove()

    # -- what the bar shows -----------------------------------------------------------------------
    def bar_text(self) -> tuple[str, str, str]:
        t = self.app.t
        total = len(self.scenario.steps)
        if self.error:
            state = t("demo.scenario_failed", error=self.error)
        elif self.stopped:
            state = t("demo.scenario_stopped")
        elif self.finished:
            state = t("demo.scenario_finished")
        else:
            state = t("demo.scenario_paused" if self.paused else "demo.scenario_playing")
        speed = "∞" if self.speed == 0 else f"{self.speed:.1f}"
        status = t("demo.scenario_status", state=state, title=self.scenario.title_in(self.app.lang),
                   step=min(self.index + 1, total), total=total, speed=speed)
        return self.caption, status, "" if self.done else t("demo.scenario_keys")

    @property
    def caption(self) -> str:
        return self.captions.get(self.app.lang) or self.captions.get("ja", "")

    def say(self, texts: dict[str, str]) -> None:
        self.captions = dict(texts)
        self.refresh_bar()

    def say_key(self, key: str, **params: object) -> None:
        self.say({lang: translate(lang, key, **params) for lang in ("ja", "en")})

    def refresh_bar(self) -> None:
        try:
            for bar in self.app.screen.query(ScenarioBar):
                bar.show_state()
        except Exception:  # no screen yet (start-up) or shutting down
            pass

    # -- playing --------------------------------------------------------------------------------
    async def run(self) -> None:
        app = self.app
        try:
            await app._ctx_ready.wait()
            if self.scenario.reset:
                await self._reset()
            self.start_id = await app.call(outbox.last_id)
            for step in self.scenario.setup:
                login = await app.call(setup_register, **step.arg)
                self.say_key("demo.scenario_setup", login_id=_display(login))
            for i, step in enumerate(self.scenario.steps):
                self.index = i
                self.refresh_bar()
                await self._gate()
                self.app.modes.touch()  # a playing scenario is not an idle kiosk
                await getattr(self, "_do_" + step.action)(step)
            self.finished = True
        except asyncio.CancelledError:
            self.stopped = True
            raise
        except ScenarioFailed as exc:
            self.error = str(exc)
            log.warning("scenario %s stopped: %s", self.scenario.name, exc)
        except Exception as exc:  # a bug must not leave the presenter with a frozen screen
            log.exception("scenario %s failed", self.scenario.name)
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._end()

    def _end(self) -> None:
        self.done = True
        self.paused = False
        self.refresh_bar()

    async def _reset(self) -> None:
        demo = self.app.modes.demo
        if demo is not None:
            await demo.reset(notify=False)
        else:
            await self.app.call(roster.reset_demo)
            self.app.modes.wipe_session()
        await self._settle()

    async def _gate(self) -> None:
        """Wait while paused; N lets exactly one step through."""
        if self._one_step:
            self._one_step = False
            self._resume.clear()
        await self._resume.wait()

    async def _sleep(self, seconds: float) -> None:
        if self.speed <= 0:
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(seconds / self.speed)

    async def _settle(self) -> None:
        """Let the app handle what it was just sent."""
        for _ in range(3):
            await asyncio.sleep(0)

    def _fail(self, step: Step, why: str, **params: object) -> ScenarioFailed:
        t = self.app.t
        return ScenarioFailed(t("demo.scenario_step_failed", step=step.number, action=step.action,
                                why=t("demo.why_" + why, **params)))

    async def _until(self, step: Step, probe, why: str, **params: object):
        deadline = time.monotonic() + float(step.opts.get("timeout", DEFAULT_TIMEOUT))
        while True:
            try:
                found = probe()
                if asyncio.iscoroutine(found):
                    found = await found
            except Exception:
                found = None
            if found:
                return found
            if time.monotonic() > deadline:
                raise self._fail(step, why, **params)
            await asyncio.sleep(0.02)

    async def _widget(self, step: Step, selector: str):
        def probe():
            screen = self.app.screen
            if getattr(screen, "relabelling", False):
                return None  # rebuilt in the other language right now: its fields come back in a moment
            for widget in screen.query(selector):
                if all(node.display for node in widget.ancestors_with_self if hasattr(node, "display")) \
                        and not widget.disabled and widget.is_mounted:
                    return widget
            return None

        return await self._until(step, probe, "widget", selector=selector, screen=routes.name_of(self.app.screen))

    # -- the steps --------------------------------------------------------------------------------
    async def _do_press(self, step: Step) -> None:
        widget = await self._widget(step, step.arg)
        if isinstance(widget, RadioButton):
            if widget.parent is not None and widget.parent.can_focus:
                widget.parent.focus()
            await self._sleep(0.3)
            widget.value = True
        else:
            widget.focus()
            await self._sleep(0.3)
            if isinstance(widget, Button):
                widget.press()
            elif isinstance(widget, Checkbox):
                widget.toggle()
            else:
                await self._press_key(step, "enter")
        await self._settle()
        await self._sleep(0.4)

    async def _do_type(self, step: Step) -> None:
        widget = await self._widget(step, step.arg)
        widget.focus()
        await self._sleep(0.2)
        widget.value = typed = ""
        for char in step.opts["text"]:
            widget = await self._typing_into(step, widget, typed)
            widget.insert_text_at_cursor(char)
            typed += char
            await self._sleep(CHAR_DELAY)
        await self._settle()
        await self._typing_into(step, widget, typed)
        await self._sleep(0.2)

    async def _typing_into(self, step: Step, widget, typed: str):
        """The field being typed into, holding what was typed so far: F4 rebuilds the screen in the
        other language (BaseScreen.relabel), and a character can fall between its copy and the new field."""
        if widget.is_attached and not getattr(self.app.screen, "relabelling", False):
            return widget
        widget = await self._widget(step, step.arg)
        widget.focus()
        widget.value = typed
        widget.cursor_position = len(typed)
        return widget

    async def _do_select(self, step: Step) -> None:
        widget = await self._widget(step, step.arg)
        widget.focus()
        await self._sleep(0.3)
        widget.value = step.opts["value"]
        await self._settle()
        await self._sleep(0.3)

    async def _do_key(self, step: Step) -> None:
        for key in step.arg:
            await self._press_key(step, key)
            await self._sleep(0.25)

    async def _press_key(self, step: Step, key: str) -> None:
        char = KEY_CHARS.get(key, key if len(key) == 1 else None)
        event = events.Key(key, char)
        event.scripted = True  # the player's own keys pass the presenter's key filter
        done = asyncio.Event()
        self.app.post_message(event)
        self.app.call_later(done.set)
        await done.wait()
        await self._settle()

    async def _do_wait_screen(self, step: Step) -> None:
        await self._until(step, lambda: routes.is_screen(self.app.screen, step.arg) and self.app.screen.is_mounted,
                          "screen", screen=step.arg, current=routes.name_of(self.app.screen))
        await self._sleep(0.3)

    async def _do_read_code_for(self, step: Step) -> None:
        recipient = step.arg
        self.say_key("demo.scenario_reading_code", to=_display(recipient))
        message = await self._until(
            step, lambda: self.app.call(newest_with, recipient, "code", step.opts.get("purpose"), self.start_id),
            "code", to=_display(recipient))
        await self._sleep(0.8)
        await self._do_type(Step("type", step.opts["into"], {"text": message["code"], **step.opts}, step.number))

    async def _do_open_link_for(self, step: Step) -> None:
        recipient = step.arg
        self.say_key("demo.scenario_opening_link", to=_display(recipient))
        message = await self._until(
            step, lambda: self.app.call(newest_with, recipient, "link", step.opts.get("purpose"), self.start_id),
            "link", to=_display(recipient))
        await self._sleep(0.8)
        before = self.app.screen
        self.app.open_link(message["link"])
        await self._until(step, lambda: self.app.screen is not before, "link_screen")
        await self._sleep(0.4)

    async def _do_advance(self, step: Step) -> None:
        demo = self.app.modes.demo
        if demo is not None:
            await demo.advance(step.arg)
        else:
            await self.app.call(shared_clock.advance, step.arg)
        await self._sleep(0.6)

    async def _do_trouble(self, step: Step) -> None:
        settings = {"sms_delay_min": 0, "fail_email": False, "fail_sms": False, **step.arg}
        await self.app.call(outbox.set_trouble, **settings)

    async def _do_say(self, step: Step) -> None:
        self.say(step.arg)
        await self._sleep(min(1.2 + 0.06 * len(self.caption), 6.0))

    async def _do_expect(self, step: Step) -> None:
        text = step.arg.get(self.app.lang) or step.arg.get("ja", "")
        await self._until(step, lambda: text in visible_text(self.app), "text", text=text)
        await self._sleep(0.5)

    async def _do_pause(self, step: Step) -> None:
        await self._sleep(float(step.arg))


def _display(recipient: str) -> str:
    return display_login_id(recipient)


def visible_text(app) -> str:
    """The active screen's words: static texts, labels, buttons, input values, and notifications."""
    parts = []
    for widget in app.screen.query("*"):
        if not all(node.display for node in widget.ancestors_with_self if hasattr(node, "display")):
            continue
        if isinstance(widget, Input):
            parts.append(widget.value)
        elif isinstance(widget, (Static, Label, Button)):
            parts.append(str(widget.render()))
    parts.extend(str(n.message) for n in notifications(app))
    return "\n".join(parts)
