"""The bene-tui command line. Keeps heavy imports inside the commands: start-up time matters."""

from __future__ import annotations

import argparse
import os
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bene-tui", description="Bene Account flows in the terminal (kiosk, helpdesk, demo).")
    p.add_argument("--db", help="SQLite file (default: the user data directory) or postgresql://user@host/dbname; env BENE_TUI_DB")
    p.add_argument("--lang", choices=["ja", "en"], help="language (default ja; env BENE_TUI_LANG)")
    p.add_argument("--mode", choices=["kiosk", "helpdesk", "demo"], help="mode (default demo; env BENE_TUI_MODE)")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("run", help="start the app (the default)")
    op = sub.add_parser("open", help="start the app on a link from a message (e.g. a family approval or invitation URL)")
    op.add_argument("url", help="https://bene-account.local/... as printed by `bene-tui outbox`")
    _add_data_commands(sub)
    _add_mode_commands(sub)
    _add_store_commands(sub)
    return p


def run_app(args: argparse.Namespace, open_link: str | None = None) -> int:
    from .app import BeneApp

    from .store import is_postgres_url

    if is_postgres_url(args.db or os.environ.get("BENE_TUI_DB")):
        _context(args).store.close()  # a shared store: refuse here, clearly, if this host's key is not its key
    app = BeneApp(db_path=args.db, lang=args.lang, mode=args.mode, open_link=open_link)
    if app.mode == "kiosk" and not _kiosk_pin_ready():
        return 2
    app.run()
    return app.return_code or 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = COMMANDS.get(args.command or "run")
    try:
        return handler(args) or 0
    except ValueError as exc:  # bad settings (language, mode) or bad files
        print(f"bene-tui: {exc}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------------------------------------
# Data commands: rosters, the outbox, the demo world.


def _add_data_commands(sub) -> None:
    imp = sub.add_parser("import", help="import organisations and members from a JSON roster (all or nothing)")
    imp.add_argument("file", help="roster JSON: {services: [...], organisations: [{group_id, ..., members: [...]}]} "
                                   "(the format is described in bene_tui/roster.py)")
    csv_ = sub.add_parser("import-roster", help="import one organisation's members from a CSV file")
    csv_.add_argument("group_id", help="団体ID of an organisation already imported")
    csv_.add_argument("file", help="CSV with header auth_key_1,auth_key_2,name,kana,birth_date,email_on_file,services")
    out = sub.add_parser("outbox", help="list the simulated e-mails and SMS, newest first")
    out.add_argument("--to", metavar="LOGIN_ID", help="only messages to this e-mail address or mobile number")
    out.add_argument("--json", action="store_true", help="print JSON (an array; an object with --last)")
    out.add_argument("--last", action="store_true", help="only the newest message")
    out.add_argument("--limit", type=int, default=200, help="at most this many messages (default 200)")
    demo = sub.add_parser("demo", help="demo data")
    demo.add_argument("--reset", action="store_true", help="wipe the database and restore the demo organisations")


def _context(args: argparse.Namespace):
    from .config import Settings
    from .context import open_context

    ctx, _ = open_context(Settings.from_env(db_path=args.db, lang=args.lang, mode=args.mode))
    return ctx.as_actor("cli")


def _run_import(args: argparse.Namespace, label: str, do_import) -> int:
    """Run one import with a progress bar (by bytes read) on stderr and a summary on stdout."""
    from pathlib import Path

    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    from .roster import RosterError

    path = Path(args.file)
    if not path.is_file():
        print(f"bene-tui: no such file: {path}", file=sys.stderr)
        return 1
    ctx = _context(args)
    console = Console(stderr=True)
    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(label, total=path.stat().st_size)
            result = do_import(ctx, path, lambda done, total: bar.update(task, completed=done, total=total))
    except RosterError as exc:
        print(f"bene-tui: {path.name}: {exc}", file=sys.stderr)
        print("bene-tui: nothing was imported.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bene-tui: interrupted; nothing was imported.", file=sys.stderr)
        return 130
    finally:
        ctx.store.close()
    rate = result.members / result.seconds if result.seconds else 0
    print(f"Imported {path.name}: {result.organisations} organisation(s), {result.members:,} member record(s) "
          f"({result.new_members:,} new, {result.updated_members:,} updated) in {result.seconds:.1f} s "
          f"({rate:,.0f} records/s).")
    return 0


def import_json(args: argparse.Namespace) -> int:
    from . import roster

    return _run_import(args, "importing", roster.import_file)


def import_roster(args: argparse.Namespace) -> int:
    from . import roster

    return _run_import(args, f"importing {args.group_id}",
                       lambda ctx, path, progress: roster.import_roster_csv(ctx, args.group_id, path, progress))


def outbox_cmd(args: argparse.Namespace) -> int:
    import json

    from . import outbox
    from .clock import fmt_time
    from .errors import ValidationError
    from .normalize import display_login_id, login_id

    recipient = None
    if args.to:
        try:
            recipient = login_id(args.to).value
        except ValidationError:
            print(f"bene-tui: not an e-mail address or Japanese mobile number: {args.to!r}", file=sys.stderr)
            return 2
    ctx = _context(args)
    try:
        rows = outbox.messages(ctx, recipient=recipient, limit=1 if args.last else max(args.limit, 1))
    finally:
        ctx.store.close()
    if args.json:
        data = [outbox.to_json(r) for r in rows]
        print(json.dumps((data[0] if data else None) if args.last else data, ensure_ascii=False, indent=2))
        return 0 if rows or not args.last else 1
    if not rows:
        print("No messages." if recipient is None else f"No messages to {display_login_id(recipient)}.")
        return 0 if not args.last else 1
    for row in rows:
        print(f"#{row['id']}  {fmt_time(row['created_at'])}  {row['channel']}  {row['status']}  {row['purpose']}")
        print(f"  To:   {display_login_id(row['recipient'])}")
        print(f"  From: {row['sender']}")
        if row["subject"]:
            print(f"  Subject: {row['subject']}")
        if row["code"]:
            print(f"  Code: {row['code']}")
        if row["link"]:
            print(f"  Link: {row['link']}")
        for line in (row["body"] or "").splitlines():
            print(f"  | {line}")
        print()
    return 0


def demo_cmd(args: argparse.Namespace) -> int:
    from . import roster

    if not args.reset:
        print("bene-tui demo: nothing to do; use --reset to restore the demo data", file=sys.stderr)
        return 2
    ctx = _context(args)
    try:
        result = roster.reset_demo(ctx)
    finally:
        ctx.store.close()
    print(f"Demo data restored: {result.organisations} organisations, {result.members} members. "
          "All accounts, messages, flows and audit records were removed.")
    return 0


# ---------------------------------------------------------------------------------------------
# Mode commands: the kiosk's operator PIN, scenarios, the app in a browser.


def _add_mode_commands(sub) -> None:
    sub.add_parser("set-pin", help="set the kiosk operator PIN (asked twice; stored as an Argon2 hash in the keyring)")
    play = sub.add_parser("play", help="play a scenario through the real screens (demo mode unless --mode says otherwise)")
    play.add_argument("scenario", nargs="?", help="a name from data/scenarios/ or a path to a .toml file; omit to list them")
    play.add_argument("--speed", type=float, default=1.0,
                      help="1 = human pace (default), 2 = twice as fast, 0 = no waiting; +/- change it while playing")
    play.add_argument("--keep-data", action="store_true", help="play on the data as it is (default: restore the demo data first)")
    serve = sub.add_parser("serve", help="serve the app to a web browser with textual-serve (loopback only by default)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")


def _kiosk_pin_ready() -> bool:
    """A kiosk that nobody could leave without killing it is refused: set the PIN first."""
    from . import pin
    from .context import default_secrets_file
    from .secret_store import SecretStore

    if SecretStore(default_secrets_file()).get(pin.SECRET_NAME):
        return True
    print("bene-tui: kiosk mode needs an operator PIN; set one first with `bene-tui set-pin`.", file=sys.stderr)
    return False


def set_pin_cmd(args: argparse.Namespace) -> int:
    import getpass

    from . import pin
    from .errors import BeneError
    from .i18n import t

    try:
        first = getpass.getpass("New operator PIN: ")
        second = getpass.getpass("Repeat the PIN: ")
    except (EOFError, KeyboardInterrupt):
        print("\nbene-tui: nothing was changed.", file=sys.stderr)
        return 130
    if first != second:
        print("bene-tui: the two PINs differ; nothing was changed.", file=sys.stderr)
        return 1
    ctx = _context(args)
    try:
        pin.set_pin(ctx, first)
    except BeneError as exc:
        print(f"bene-tui: {t('en', exc.key, **exc.params)} Nothing was changed.", file=sys.stderr)
        return 1
    finally:
        ctx.store.close()
    print("Operator PIN set. In kiosk mode, ctrl+o and this PIN close the app.")
    return 0


def play_cmd(args: argparse.Namespace) -> int:
    from . import scenario as scenarios

    if not args.scenario:
        for name in scenarios.available():
            found = scenarios.load(name)
            print(f"{name:24} {found.title_in('ja')} / {found.title_in('en')}")
        return 0
    found = scenarios.load(args.scenario)  # a ScenarioError is a ValueError: main() prints it
    if args.mode == "kiosk":
        print("bene-tui: scenarios play in demo or helpdesk mode, not in kiosk mode.", file=sys.stderr)
        return 2
    if args.keep_data:
        found.reset = False
    from .app import BeneApp

    app = BeneApp(db_path=args.db, lang=args.lang or found.lang, mode=args.mode or "demo")
    app.modes.autoplay(found, args.speed)
    app.run()
    return app.return_code or 0


def serve_cmd(args: argparse.Namespace) -> int:
    import ipaddress
    import shlex

    from textual_serve.server import Server

    from .config import Settings

    settings = Settings.from_env(db_path=args.db, lang=args.lang, mode=args.mode)  # bad values fail here
    if settings.mode == "kiosk" and not _kiosk_pin_ready():
        return 2
    command = [sys.executable, "-m", "bene_tui.cli"]
    for flag, value in (("--db", args.db), ("--lang", args.lang), ("--mode", args.mode)):
        if value:
            command += [flag, value]
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback:
        print(f"bene-tui: warning: serving on {args.host}: anyone who can reach this address can use the app "
              "and see its outbox.", file=sys.stderr)
    Server(shlex.join([*command, "run"]), host=args.host, port=args.port, title="bene-tui").serve()
    return 0


# ---------------------------------------------------------------------------------------------
# The store and its key: `db check`, `key export`, `key import`.


def _add_store_commands(sub) -> None:
    db = sub.add_parser("db", help="the store (SQLite file or PostgreSQL)")
    db.add_argument("action", choices=["check"], help="check: which store, its schema version, whether this host's key matches")
    key = sub.add_parser("key", help="the key codes and tokens are hashed with (every host of a store needs the same)")
    key.add_argument("action", choices=["export", "import"],
                     help="export: print it (a secret) for another host; import: read an exported line from stdin")


def _store_context(args: argparse.Namespace):
    from .config import Settings
    from .context import open_context

    ctx, _ = open_context(Settings.from_env(db_path=args.db, lang=args.lang, mode=args.mode), check_key=False)
    return ctx.as_actor("cli")


def db_cmd(args: argparse.Namespace) -> int:
    from . import keys
    from .migrations import m
    from .store import is_postgres_url

    ctx = _store_context(args)
    try:
        target = ctx.store.path
        if is_postgres_url(target):
            info = ctx.db.conn.raw.info
            where = f"PostgreSQL {info.server_version // 10000} database {info.dbname!r} as {info.user!r}"
        else:
            where = f"SQLite file {target}"
        applied = [r[0] for r in ctx.db.execute("select name from _sqlite_migrations order by id")]
        state = keys.status(ctx)
        print(f"store: {where}")
        print(f"schema: version {len(applied)} of {len(m._migrations)} ({applied[-1] if applied else 'empty'})")
        print(f"key: {KEY_STATES[state]}")
        return 0 if state in ("matches", "unset") else 1
    finally:
        ctx.store.close()


KEY_STATES = {
    "matches": "this host's key matches the store's",
    "unset": "no terminal has used a key yet (the first one's is kept)",
    "missing": "this host has no key for this store: `bene-tui key import` the one of another terminal",
    "differs": "this host's key DIFFERS from the store's: its terminals would refuse to start",
}


def key_cmd(args: argparse.Namespace) -> int:
    from . import keys

    ctx = _store_context(args)
    try:
        if args.action == "export":
            keys.check(ctx)
            print(keys.export(ctx))
        else:
            keys.import_line(ctx, sys.stdin.readline())
            print("bene-tui: key imported; this host's key matches the store's.", file=sys.stderr)
        return 0
    finally:
        ctx.store.close()


COMMANDS = {"run": run_app, "import": import_json, "import-roster": import_roster, "outbox": outbox_cmd,
            "demo": demo_cmd, "open": lambda args: run_app(args, open_link=args.url)}
COMMANDS.update({"set-pin": set_pin_cmd, "play": play_cmd, "serve": serve_cmd, "db": db_cmd, "key": key_cmd})

if __name__ == "__main__":
    sys.exit(main())
