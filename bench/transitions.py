"""Benchmark 2: each registration step's screen transition, through Pilot.

    python bench/transitions.py [--runs 20] [--modes kiosk,demo]
    python bench/transitions.py --without quiet_gc   # (or freeze_imports) each mode with and without one of
                                                     # core/runtime_tricks.py's tricks: the ratio

One BeneApp per mode (production Argon2id parameters, a real clock, a throw-away database with
a generated roster) registers RUNS different members through the real screens. For every
step the clock starts when the step's button is pressed (`Button.press()`, as Enter or a click
would) and stops when the next screen is current and mounted — composed and its `on_mount` run
(before the press, for a screen composed ahead; see below), with step 4's registered name loaded
from the database — and its first frame has been
drawn (handed to the terminal driver; headless, it is not written out). Without the frame the
figure would depend on whether Textual happened to lay out before or after the Mount event:

  start   「新規登録」                      StartScreen -> Step1Screen
  step1   「次へ」  (団体ID + 認証キー)      Step1Screen -> Step2Screen
  step2   「上記内容で送信する」             Step2Screen -> Step3Screen   (password policy; the hash made ahead)
  step3   「送信する」 (認証コード)          Step3Screen -> Step4Screen   (+ the name shown)
  step4   「ベネアカウントの登録を完了する」  Step4Screen -> DoneScreen
  top     「トップへ戻る」                   DoneScreen  -> StartScreen

Typing into the fields is not timed; before each press the bench waits THINK (0.3 s), far less
than any person takes over a step. bene-tui uses such time:
  - each screen composes the screen it leads to in the background, a moment after its own first
    frame (ui/screens/ahead.py); the press fills that screen in (flow ID, login ID, the 姓名) and
    pushes it, so Textual only lays it out and draws it;
  - step 2 hashes the password as soon as both password fields agree
    (Step2Screen._passwords_changed), so 「上記内容で送信する」 stores the hash made while the terms
    were being read. A press within the hash's 150 ms of the last keystroke waits for the rest of
    it; the bench counts the presses that had to hash, which should be none.

Side by side, in the same run: a minimal Textual app whose button pushes a screen of five Inputs
(the framework's own floor for "press -> next screen"), and, outside the UI, the password work
(zxcvbn policy check and one Argon2id hash), for scale. Prints median and p95 per step.
Target: median <= 50 ms per step.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import weakref
from pathlib import Path

os.environ.setdefault("BENE_TUI_NO_KEYRING", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _gen  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's bene_tui
from bene_tui.core import runtime_tricks  # noqa: E402

PASSWORD = "kumo-no-ue-de-odoru-neko-42"
STEPS = ("start", "step1", "step2", "step3", "step4", "top")
TARGET_MS = 50.0
THINK = 0.3  # seconds before each press: far less than anyone takes to read a step and type it


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


async def until(predicate, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the next screen never came")
        await asyncio.sleep(0.0005)


def mounted(app, cls) -> bool:
    screen = app.screen
    return isinstance(screen, cls) and screen.is_mounted


FRAMES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # screen -> frames drawn


def count_frames() -> None:
    """Count the frames each screen hands to the driver (both apps alike)."""
    from textual.app import App

    display = App._display

    def _display(self, screen, renderable):
        if renderable is not None:
            FRAMES[screen] = FRAMES.get(screen, 0) + 1
        return display(self, screen, renderable)

    App._display = _display


async def press_and_time(app, button_selector: str, next_cls) -> float:
    await asyncio.sleep(THINK)  # a person reads and types before pressing; both apps get the time
    modes = getattr(app, "modes", None)
    if modes is not None:
        modes.touch()  # ... and the kiosk sees them active (values are set here without key events)
    button = app.screen.query_one(button_selector)
    before = {screen: FRAMES.get(screen, 0) for screen in app.screen_stack}
    t0 = time.perf_counter()
    button.press()
    await until(lambda: mounted(app, next_cls) and FRAMES.get(app.screen, 0) > before.get(app.screen, 0))
    return time.perf_counter() - t0


def set_value(app, selector: str, value) -> None:
    app.screen.query_one(selector).value = value


HASHED_AT_PRESS = [0, 0]  # step-2 presses that had to hash the password themselves, of all


def count_hashes_at_press() -> None:
    from bene_tui.services import passwords

    hash_for = passwords.hash_for

    def counted(password, rules, prehashed=None):
        HASHED_AT_PRESS[1] += 1
        HASHED_AT_PRESS[0] += prehashed is None or prehashed.password != password
        return hash_for(password, rules, prehashed)

    passwords.hash_for = counted


def make_db(directory: Path, runs: int) -> Path:
    from bene_tui.core.config import Settings
    from bene_tui.services import roster
    from bene_tui.services.context import open_context
    from bene_tui.services.secret_store import SecretStore

    path = directory / "bench.db"
    roster_file = directory / "roster.json"
    _gen.write_json(roster_file, runs * 3)
    ctx, _ = open_context(Settings(db_path=str(path), terminal="bench"),
                          secret_store=SecretStore(directory / "secrets.json", use_keyring=False))
    roster.import_file(ctx, roster_file)
    ctx.store.close()
    return path


async def bene_runs(path: Path, mode: str, runs: int, first: int) -> dict[str, list[float]]:
    from bene_tui.core.config import Settings
    from bene_tui.services.outbox import latest
    from bene_tui.services.secret_store import SecretStore
    from bene_tui.ui.app import BeneApp
    from bene_tui.ui.screens.registration import DoneScreen, Step1Screen, Step2Screen, Step3Screen, Step4Screen
    from bene_tui.ui.screens.start import StartScreen

    settings = Settings(db_path=str(path), terminal=f"bench-{mode}", mode=mode, lang="ja")
    app = BeneApp(settings=settings, secret_store=SecretStore(path.parent / "secrets.json", use_keyring=False))
    times: dict[str, list[float]] = {s: [] for s in STEPS}
    rows = list(_gen.rows(first + runs + 1))
    async with app.run_test(size=(120, 50)) as pilot:
        await until(lambda: app.ctx is not None and mounted(app, StartScreen))
        for i in range(first, first + runs + 1):  # the first registration is a warm-up
            group, key1, key2 = rows[i][0], rows[i][1], rows[i][2]
            login = f"bench.{mode}.{i}@example.jp"
            got = {"start": await press_and_time(app, "#register", Step1Screen)}
            for selector, value in (("#group_id", group), ("#key1", key1), ("#key2", key2)):
                set_value(app, selector, value)
            await pilot.pause()
            got["step1"] = await press_and_time(app, "#next", Step2Screen)
            for selector, value in (("#login_id", login), ("#password", PASSWORD), ("#password2", PASSWORD),
                                    ("#agree", True)):
                set_value(app, selector, value)
            await pilot.pause()
            got["step2"] = await press_and_time(app, "#submit", Step3Screen)
            code = await app.call(lambda ctx: latest(ctx, login, "verification")["code"])
            set_value(app, "#code", code)
            await pilot.pause()
            got["step3"] = await press_and_time(app, "#send", Step4Screen)
            assert str(app.screen.query_one("#name").render()).strip(), "step 4 drawn without the name"
            set_value(app, "#confirm", True)
            await pilot.pause()
            got["step4"] = await press_and_time(app, "#complete", DoneScreen)
            got["top"] = await press_and_time(app, "#top", StartScreen)
            await pilot.pause()
            if i > first:
                for step, value in got.items():
                    times[step].append(value)
    return times


async def baseline_runs(runs: int) -> list[float]:
    """A minimal Textual app: a button that pushes a screen of five Inputs (and back)."""
    from textual.app import App
    from textual.screen import Screen
    from textual.widgets import Button, Footer, Header, Input

    class Form(Screen):
        def compose(self):
            yield Header()
            for i in range(5):
                yield Input(placeholder=f"field {i}", id=f"f{i}")
            yield Button("back", id="back")
            yield Footer()

        def on_mount(self):
            self.query_one("#f0").focus()

        def on_button_pressed(self):
            self.app.pop_screen()

    class Home(Screen):
        def compose(self):
            yield Header()
            yield Button("next", id="next")
            yield Footer()

        def on_button_pressed(self):
            self.app.push_screen(Form())

    class Minimal(App):
        def on_mount(self):
            self.push_screen(Home())

    app = Minimal()
    times = []
    async with app.run_test(size=(120, 50)) as pilot:
        await until(lambda: mounted(app, Home))
        for i in range(runs + 1):
            t = await press_and_time(app, "#next", Form)
            await pilot.pause()
            await press_and_time(app, "#back", Home)
            await pilot.pause()
            if i:
                times.append(t)
    return times


def password_work(runs: int) -> dict[str, list[float]]:
    """What step 2 must compute, outside the UI: the policy check (zxcvbn) and one Argon2id hash."""
    from bene_tui.core.config import Rules
    from bene_tui.services import passwords

    rules = Rules()
    out = {"policy": [], "hash": []}
    passwords.check_policy(PASSWORD, rules, "warm@example.jp")
    for i in range(runs):
        t0 = time.perf_counter()
        passwords.check_policy(PASSWORD, rules, f"bench{i}@example.jp", ("山田 太郎", "1985-04-01"))
        t1 = time.perf_counter()
        passwords.hash_password(PASSWORD, rules)
        t2 = time.perf_counter()
        out["policy"].append(t1 - t0)
        out["hash"].append(t2 - t1)
    return out


def ms(x: float) -> str:
    return f"{x * 1000:7.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--modes", default="kiosk,demo")
    ap.add_argument("--without", metavar="TRICK", choices=("quiet_gc", "freeze_imports"),
                    help="each mode's runs again without this trick of core/runtime_tricks.py")
    args = ap.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    count_frames()
    count_hashes_at_press()
    from bene_tui.core.config import Rules

    r = Rules()
    print(f"registration step transitions, {args.runs} registrations per mode, Argon2id "
          f"t={r.argon2_time_cost} m={r.argon2_memory_kib} KiB p={r.argon2_parallelism}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bene-transitions-") as tmp:
        variants = [""] + ([args.without] if args.without else [])
        path = make_db(Path(tmp), (args.runs + 1) * len(modes) * len(variants))
        base = asyncio.run(baseline_runs(args.runs))
        work = password_work(max(5, args.runs // 2))
        results = {}
        for n, (mode, trick) in enumerate((m, v) for m in modes for v in variants):
            switch_back = runtime_tricks.without(trick) if trick else (lambda: None)
            try:
                results[f"{mode} without {trick}" if trick else mode] = asyncio.run(
                    bene_runs(path, mode, args.runs, first=n * (args.runs + 1)))
            finally:
                switch_back()
        base2 = asyncio.run(baseline_runs(args.runs))  # again after, so drift shows
    base_all = base + base2
    hash_med = statistics.median(work["hash"])
    policy_med = statistics.median(work["policy"])
    print(f"\nminimal Textual app, press -> screen of 5 Inputs mounted and drawn: median {ms(statistics.median(base_all))} ms"
          f"   p95 {ms(p95(base_all))} ms")
    print(f"password work outside the UI: zxcvbn policy median {ms(policy_med)} ms, Argon2id hash median {ms(hash_med)} ms")
    print(f"step-2 presses that had to hash the password themselves: {HASHED_AT_PRESS[0]} of {HASHED_AT_PRESS[1]}")
    for mode, times in results.items():
        print(f"\n[{mode} mode]                        median      p95   (ms)   median/minimal")
        for step in STEPS:
            med = statistics.median(times[step])
            flag = "" if med * 1000 <= TARGET_MS else "  > target"
            print(f"  {step:<6}                        {ms(med)}  {ms(p95(times[step]))}        "
                  f"{med / statistics.median(base_all):6.1f}x{flag}")
    if args.without:
        print(f"\nwithout {args.without} / with, per step: median ratio (p95 ratio)")
        for mode in modes:
            with_, without_ = results[mode], results[f"{mode} without {args.without}"]
            print(f"  [{mode}] " + "  ".join(
                f"{step} {statistics.median(without_[step]) / statistics.median(with_[step]):.2f}"
                f" ({p95(without_[step]) / p95(with_[step]):.2f})" for step in STEPS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
