"""`bene-tui serve` in a real browser (issue 15): headless Chromium (Debian's `chromium` and
`chromium-driver`, through Selenium) opens the printed URL, shows the start screen, and a person's
keys take it through the five registration steps. The page asks no host but the app for anything.

Skipped, with the reason, only where no browser is installed; `.ci/run` installs one and sets
BENE_TUI_REQUIRE_BROWSER=1, which turns that skip into a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from urllib.parse import urlsplit

import pytest

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
except ImportError:  # find_browser() says so
    webdriver = None
from support.serve import free_port, start_serve, stop, wait_ready

from support.world import GOOD_PASSWORD

LOGIN_ID = "taro.browser@example.jp"
# Read at import: conftest's _isolate clears every BENE_TUI_ variable before each test.
REQUIRE_BROWSER = os.environ.get("BENE_TUI_REQUIRE_BROWSER") == "1"

# textual.js keeps its xterm.js Terminal in `this.terminal` of its own class and exposes it nowhere;
# the terminal draws on a canvas, so the page's text is only in that Terminal's buffer. This script,
# run before the page's own, catches the Terminal as textual.js stores it (a setter on
# Object.prototype, put back as a plain property at once) so the test reads what the canvas shows.
CATCH_TERMINAL = """
window.__terminals = [];
Object.defineProperty(Object.prototype, "terminal", {configurable: true, set(value) {
  Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
  window.__terminals.push(value);
}});
"""
# The terminal's rows as text, wide characters once (what a person reads on the canvas).
READ_SCREEN = """
const term = window.__terminals[0];
if (!term) return {text: "", terminals: 0};
const buffer = term.buffer.active, rows = [];
for (let y = 0; y < term.rows; y++) {
  const line = buffer.getLine(buffer.viewportY + y);
  rows.push(line ? line.translateToString(true) : "");
}
return {text: rows.join("\\n"), terminals: window.__terminals.length};
"""
# The status of the page's Japanese face (local fonts under the terminal's font name).
JAPANESE_FACE = """
return [...document.fonts]
  .filter(f => f.family.replace(/"/g, "") === "Roboto Mono" && f.unicodeRange.includes("U+4E00"))
  .map(f => f.status);
"""
# Fonts of the page's stack that .ci/run installs or a kiosk has (`fc-list :lang=ja family` names).
JAPANESE_FONTS = ("IPAGothic", "Noto Sans Mono CJK JP", "Noto Sans CJK JP")
# A person's pace between keys. Textual took a Tab that arrived in one burst with the next
# characters as nothing here (they landed in the field being left), so a test that types
# faster than anyone does is testing something else.
PACE = 0.3


def find_browser() -> tuple[str, str]:
    """Chromium and its driver, or the reason the test cannot run (a failure where CI requires it)."""
    missing = [name for name in ("chromium", "chromedriver") if not shutil.which(name)]
    if webdriver is None:
        missing.append("the selenium package")
    if missing:
        reason = (f"no browser to drive: {', '.join(missing)} not found "
                  "(apt-get install chromium chromium-driver; pip install selenium)")
        if REQUIRE_BROWSER:
            pytest.fail(f"BENE_TUI_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return shutil.which("chromium"), shutil.which("chromedriver")


class Page:
    """The served page in headless Chromium, driven by keys as a person would."""

    def __init__(self, driver) -> None:
        self.driver = driver

    def screen(self) -> dict:
        return self.driver.execute_script(READ_SCREEN)

    def wait(self, predicate, what: str, timeout: float = 60.0) -> dict:
        """The screen once predicate(its text) holds (60 s: two busy cores, an app process to start)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if predicate(screen["text"]):
                return screen
            if time.monotonic() > deadline:
                if not screen["terminals"]:
                    raise AssertionError("no xterm Terminal caught: textual.js no longer keeps it in "
                                         "`this.terminal` (CATCH_TERMINAL needs another way in)")
                raise AssertionError(f"timed out waiting for {what}; the page shows:\n{screen['text']}")
            time.sleep(0.1)

    def wait_text(self, *texts: str) -> dict:
        return self.wait(lambda text: all(t in text for t in texts), " and ".join(map(repr, texts)))

    def press(self, *keys: str) -> None:
        """Type keys (a string is typed as it is) and pause as a person would before the next."""
        ActionChains(self.driver).send_keys(*keys).perform()
        time.sleep(PACE)

    def fill(self, *values: str, shows=lambda value: value) -> None:
        """Type values into the focused field and the ones after it (Tab between), then see each
        in its own field (a field's row: its left edge, two spaces, the value)."""
        for n, value in enumerate(values):
            if n:
                self.press(Keys.TAB)
            self.press(value)
        for value in values:
            self.wait(lambda text, v=value: re.search(rf"▊  {re.escape(shows(v))} ", text),
                      f"{value!r} alone in a field")


def japanese_font_installed() -> bool:
    if not shutil.which("fc-list"):
        return False
    listed = subprocess.run(["fc-list", ":lang=ja", "family"], capture_output=True, text=True).stdout
    return any(name in listed for name in JAPANESE_FONTS)


def outside_requests(driver, origin: str) -> tuple[list[str], set[str]]:
    """From Chrome's performance log: the URLs the page asked for away from origin, and all it asked for."""
    asked = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            asked.add(message["params"]["request"]["url"])
        elif message["method"] == "Network.webSocketCreated":
            asked.add(message["params"]["url"])
    asked = {u for u in asked if urlsplit(u).scheme in ("http", "https", "ws", "wss")}  # not data:, chrome://
    return sorted(u for u in asked if urlsplit(u).netloc != urlsplit(origin).netloc), asked


def latest_code(db: str, recipient: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            row = conn.execute("select code from outbox where recipient = ? and code is not null "
                               "order by id desc limit 1", [recipient]).fetchone()
        if row:
            return row[0]
        time.sleep(0.2)
    raise AssertionError(f"no code in the outbox for {recipient}")


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium on its own profile, logging every request; no name resolves but 127.0.0.1
    (a closed kiosk network: a page that needed an outside host would break here)."""
    chromium, chromedriver = find_browser()

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,900", f"--user-data-dir={tmp_path / 'chromium'}",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_TERMINAL})
        yield driver
    finally:
        driver.quit()


def test_a_person_registers_in_the_browser_by_keyboard(tmp_path, browser):
    started = time.monotonic()
    port, db = free_port(), str(tmp_path / "served.db")
    proc, lines = start_serve(db, port, mode="demo")
    try:
        origin = f"http://127.0.0.1:{port}"
        token = wait_ready(port, proc, lines)
        browser.get_log("performance")  # the log from here on: the page's own requests
        browser.get(f"{origin}/?token={token}")
        page = Page(browser)
        first = page.wait(lambda text: "新規登録" in text, "the start screen")
        assert first["terminals"] == 1, "textual.js made one xterm Terminal (CATCH_TERMINAL caught it)"
        assert "ベネアカウント" in first["text"] and "ログイン" in first["text"]
        if REQUIRE_BROWSER or japanese_font_installed():  # .ci/run installs one; a kiosk has one
            assert browser.execute_script(JAPANESE_FACE) == ["loaded"], "Japanese drawn in a local font"
        # the keys go where a person's go: the terminal's input (focused by a click on the page)
        browser.execute_script("document.querySelector('.xterm-helper-textarea').focus()")

        page.press(Keys.ENTER)  # 「新規登録」 has the focus
        page.wait_text("Step.1", "団体ID")  # the focus in 団体ID
        page.fill("BO100001", "100234", "19850401")
        page.press(Keys.ENTER)  # Enter in the last field presses 「次へ」

        page.wait_text("規約に同意する")  # step 2; the focus on the login ID's kind (e-mail)
        page.press(Keys.TAB)
        page.fill(LOGIN_ID, GOOD_PASSWORD, GOOD_PASSWORD,
                  shows=lambda value: "•" * len(value) if value == GOOD_PASSWORD else value)
        page.press(Keys.TAB)  # the terms
        page.press(Keys.TAB)  # 「規約に同意する」
        page.press(Keys.SPACE)
        page.press(Keys.TAB)  # 「上記内容で送信する」
        page.press(Keys.ENTER)

        page.wait_text("仮登録が完了いたしました。", LOGIN_ID)  # step 3; the focus in the code field
        page.fill(latest_code(db, LOGIN_ID))
        page.press(Keys.ENTER)  # Enter in the code field presses 「送信する」

        page.wait_text("表示された姓名に相違ありません", "山田 太郎")  # step 4; the focus on the tick
        page.press(Keys.SPACE)
        page.press(Keys.TAB)  # 「ベネアカウントの登録を完了する」
        page.press(Keys.ENTER)

        page.wait_text("ベネアカウントの新規登録が完了しました。")  # step 5
        with sqlite3.connect(db) as conn:
            status = conn.execute("select status from accounts where login_id = ?", [LOGIN_ID]).fetchall()
        assert status == [("active",)]

        outside, asked = outside_requests(browser, origin)
        assert outside == [], "the page asked another host"
        assert {f"{origin}/static/fonts/RobotoMono-VariableFont_wght.ttf", f"ws://127.0.0.1:{port}/ws"} <= {
            u.split("?")[0] for u in asked}, "its font and its websocket came from the app"
    finally:
        stop(proc)
    print(f"browser registration: {time.monotonic() - started:.1f} s")
