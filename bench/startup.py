"""Start-up time: from process start until the start screen accepts input.

bene-tui is measured beside a minimal Textual app (one Static, one Input) started the same way
in the same run: each in a fresh `python` process, headless at 120×40, interleaved (the order
alternates every round), after one unmeasured warm-up of each. "Accepts input" means the first
screen has been drawn (its first frame handed to the terminal driver), with the focus on its
first widget (「新規登録」 for bene-tui, the Input for the minimal app), and a key pressed then
has taken effect (Tab moves the focus on; a letter appears in the Input). Both apps are held to
the same frame: left to itself, the minimal app takes the key before it has drawn anything, which
is not a screen anyone could use. The clock is the parent's: it starts just before the child process is spawned
and stops when the child says it is ready. (bene-tui opens its database in a worker thread
behind the start screen; that work competes for the interpreter and so counts.)

    python bench/startup.py            # N=15 of each: medians and the ratio (target ≤ 1.3)
    python bench/startup.py -n 5
    python bench/startup.py --imports  # what the start path imports, heaviest first
    python bench/startup.py --without freeze_imports  # bene-tui with and without one of
                                       # core/runtime_tricks.py's tricks, interleaved: the ratio
    python bench/startup.py --against ../old   # this checkout beside another (e.g. a worktree of
                                       # an earlier commit), interleaved, each beside the minimal app

bene-tui runs against a throw-away database (seeded on the warm-up), with no keyring. Its
modules are byte-compiled first, as `pip install` does: a checkout run with
PYTHONDONTWRITEBYTECODE=1 would otherwise compile them from source on every start, which the
minimal app (Textual only, compiled when installed) never pays.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's bene_tui
from bene_tui.core import runtime_tricks  # noqa: E402

TARGET = 1.3

# Both drivers wait the same way: the first screen shown with the focus on the expected widget,
# then one key pressed and its effect seen (the key was taken as input, not queued behind start-up).
_WAIT = """
import asyncio, time
from textual.app import App

drawn = set()  # the screens a frame has been handed to the driver for (headless: not written out)
_display = App._display
def _drawn(self, screen, renderable):
    if renderable is not None:
        drawn.add(type(screen).__name__)
    return _display(self, screen, renderable)
App._display = _drawn

async def until(predicate):
    while not predicate():
        await asyncio.sleep(0.001)

async def ready(pilot, screen_name, focus_id, key, char, effect):
    from textual import events

    app = pilot.app
    await until(lambda: type(app.screen).__name__ == screen_name and screen_name in drawn
                and app.screen.focused is not None and app.screen.focused.id == focus_id)
    # As a terminal delivers it (Pilot.press would also wait for the whole process to go idle).
    app.post_message(events.Key(key, char))
    await until(lambda: effect(app))
    print("READY", time.process_time(), flush=True)
    app.exit()
"""

_BENE = """
try:
    from bene_tui.ui.app import BeneApp
except ImportError:  # a checkout from before the ui/ layout (10d44fc), for --against
    from bene_tui.app import BeneApp

app = BeneApp()
async def auto(pilot):
    # Tab: the focus leaves 「新規登録」 for the next entry
    await ready(pilot, "StartScreen", "register", "tab", "\\t", lambda app: app.screen.focused.id != "register")
app.run(headless=True, size=(120, 40), auto_pilot=auto)
"""
BENE = _WAIT + _BENE


def bene_without(trick: str) -> str:
    """bene-tui with one of core/runtime_tricks.py's tricks switched off before the app starts."""
    return _WAIT + f"from bene_tui.core import runtime_tricks\nruntime_tricks.without({trick!r})\n" + _BENE


MINIMAL = _WAIT + """
from textual.app import App
from textual.widgets import Input, Static

class Minimal(App):
    def compose(self):
        yield Static("Minimal")
        yield Input(id="entry")

    def on_mount(self):
        self.query_one(Input).focus()

app = Minimal()
async def auto(pilot):
    # a letter: it appears in the Input
    await ready(pilot, "Screen", "entry", "a", "a", lambda app: app.query_one(Input).value == "a")
app.run(headless=True, size=(120, 40), auto_pilot=auto)
"""


def measure(script: str, env: dict[str, str], cwd: Path | None = None) -> tuple[float, float]:
    """Seconds from spawning `python -c script` until it prints READY, and the CPU seconds the
    child had used by then (all its threads: less sensitive to a busy machine than wall time).
    `python -c` finds bene_tui in its working directory first: `cwd` chooses the checkout."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, text=True, cwd=cwd)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("READY"):
            elapsed = time.perf_counter() - start, float(line.split()[1])
            break
    else:
        proc.wait()
        raise RuntimeError(f"the app never became ready:\n{proc.stderr.read() if proc.stderr else ''}")
    proc.wait(timeout=60)
    return elapsed


def import_profile(env: dict[str, str], top: int = 20) -> None:
    """`python -X importtime` of the start path, heaviest cumulative imports first."""
    code = "import bene_tui.ui.app, bene_tui.ui.screens.start"
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env)
    rows = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [p.strip() for p in line[len("import time:"):].split("|")]
        try:
            rows.append((int(parts[1]), int(parts[0]), parts[2]))
        except ValueError:
            continue
    rows.sort(reverse=True)
    print(f"{'cumulative ms':>14} {'self ms':>8}  module")
    for cumulative, own, name in rows[:top]:
        print(f"{cumulative / 1000:14.1f} {own / 1000:8.1f}  {name}")


def bench_env(tmp: Path) -> dict[str, str]:
    """The children's environment: a throw-away database in `tmp`, no keyring, Japanese."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENE_TUI_")}
    env.update({
        "BENE_TUI_DB": str(tmp / "bene.db"),
        "BENE_TUI_NO_KEYRING": "1",
        "BENE_TUI_SECRETS_FILE": str(tmp / "secrets.json"),
        "BENE_TUI_LANG": "ja",
    })
    return env


def against(n: int, other: Path) -> int:
    """This checkout's bene-tui, another checkout's and the minimal app, in turns (the order
    rotating every round): whether a change made start-up slower, with the machine's noise the
    same for both. Each checkout has its own database (an older one may not open a newer file)."""
    here = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="bene-bench-") as tmp:
        series = {}  # name → (script, env, cwd, runs)
        for name, checkout in (("bene-tui (this checkout)", here), (f"bene-tui ({other.name})", other)):
            (Path(tmp) / checkout.name).mkdir(exist_ok=True)
            compileall.compile_dir(checkout / "bene_tui", quiet=1)
            series[name] = (BENE, bench_env(Path(tmp) / checkout.name), checkout, [])
        series["minimal Textual app"] = (MINIMAL, bench_env(Path(tmp)), here, [])
        for script, env, cwd, _ in series.values():
            measure(script, env, cwd)  # warm-up: seeds each database, warms the file cache
        order = list(series.values())
        for i in range(n):
            for script, env, cwd, runs in order[i % 3:] + order[:i % 3]:
                runs.append(measure(script, env, cwd))
    med = {name: (statistics.median(r[0] for r in s[3]), statistics.median(r[1] for r in s[3]))
           for name, s in series.items()}
    print(f"start-up until the first screen accepts input (N={n} each, in turns, median)")
    print(f"{'':28}{'wall ms':>9}{'CPU ms':>9}{'/ minimal':>11}")
    minimal = med["minimal Textual app"]
    for name, (wall, cpu) in med.items():
        print(f"  {name:26}{wall * 1000:9.0f}{cpu * 1000:9.0f}{wall / minimal[0]:11.2f}")
    (this, _), (old, _) = list(med.values())[:2]
    print(f"  this checkout / {other.name}: wall {this / old:.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=15, help="measured starts of each app (default 15)")
    parser.add_argument("--imports", action="store_true", help="print the start path's heaviest imports and stop")
    parser.add_argument("--without", metavar="TRICK", choices=sorted(runtime_tricks.OFF),
                        help="measure bene-tui beside itself without one trick of core/runtime_tricks.py")
    parser.add_argument("--against", metavar="CHECKOUT", type=Path,
                        help="also measure the bene-tui of another checkout (its own database), interleaved")
    args = parser.parse_args(argv)
    if args.against:
        return against(args.n, args.against.resolve())

    with tempfile.TemporaryDirectory(prefix="bene-bench-") as tmp:
        env = bench_env(Path(tmp))
        if args.imports:
            import_profile(env)
            return 0

        import bene_tui

        compileall.compile_dir(Path(bene_tui.__file__).parent, quiet=1)
        other = bene_without(args.without) if args.without else MINIMAL
        measure(BENE, env)  # warm-up: seeds the database, warms the file cache
        measure(other, env)
        bene, minimal = [], []
        for i in range(args.n):
            pair = [(BENE, bene), (other, minimal)]
            for script, into in pair if i % 2 == 0 else reversed(pair):
                into.append(measure(script, env))

    def med(runs, i):
        return statistics.median(r[i] for r in runs)

    wall = [r[0] for r in bene], [r[0] for r in minimal]
    ratio = med(bene, 0) / med(minimal, 0)
    if args.without:
        print(f"start-up until the first screen accepts input (N={args.n} each, interleaved, median)")
        for name, runs in ((f"without {args.without}", minimal), ("bene-tui", bene)):
            print(f"  {name:26}{med(runs, 0) * 1000:7.0f} ms wall {med(runs, 1) * 1000:7.0f} ms CPU")
        print(f"  ratio without/with: wall {med(minimal, 0) / med(bene, 0):.2f}, CPU {med(minimal, 1) / med(bene, 1):.2f}")
        return 0
    print(f"start-up until the first screen accepts input (N={args.n} each, interleaved, median)")
    print(f"{'':22}{'wall ms':>9}{'(min':>7}{'max)':>7}{'CPU ms':>9}")
    for name, runs, times in (("minimal Textual app", minimal, wall[1]), ("bene-tui", bene, wall[0])):
        print(f"  {name:20}{med(runs, 0) * 1000:9.0f}{min(times) * 1000:7.0f}{max(times) * 1000:7.0f}"
              f"{med(runs, 1) * 1000:9.0f}")
    print(f"  ratio (wall)        {ratio:9.2f}   target ≤ {TARGET}: {'OK' if ratio <= TARGET else 'OVER'}")
    print(f"  ratio (CPU)         {med(bene, 1) / med(minimal, 1):9.2f}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
