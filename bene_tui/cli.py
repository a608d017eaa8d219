"""The bene-tui command line.

`bene-tui` with no command starts the app through `main`, so this module is on the measured
start-up path (bench/startup.py): each command imports the services, store, UI and Rich modules
it uses inside its own function (`# start-up: this command's own modules`), and `run` loads only
the app. What every command may use (the standard library, `core`) is imported here.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import json
import os
import shlex
import sys
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

from bene_tui.core.clock import JST, fmt_time
from bene_tui.core.config import Settings
from bene_tui.core.errors import BeneError, ValidationError
from bene_tui.core.i18n import t
from bene_tui.core.paths import default_db_path


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
    _add_admin_commands(sub)
    _add_ops_commands(sub)
    _add_store_commands(sub)
    return p


def _shell_operator() -> str:
    """Who runs a command from a shell: BENE_TUI_OPERATOR, else the shell's own user (a person's own
    login here, unlike a helpdesk desk's shared one, where the agent types their name)."""

    # start-up: this command's own modules (cli.main starts the app)
    from bene_tui.services.helpdesk import configured_operator

    return configured_operator() or getpass.getuser()


def run_app(args: argparse.Namespace, open_link: str | None = None) -> int:
    # start-up: this command's own modules (cli.main starts the app)
    from bene_tui.ui.app import BeneApp

    from .store import is_postgres_url

    if is_postgres_url(args.db or os.environ.get("BENE_TUI_DB")):
        _context(args).store.close()  # a shared store: refuse here, clearly, if this host's key is not its key
    app = BeneApp(db_path=args.db, lang=args.lang, mode=args.mode, open_link=open_link)
    if app.mode == "kiosk" and not _kiosk_pin_ready():
        return 2
    app.run()
    return app.return_code or 0


def main(argv: list[str] | None = None) -> int:
    """Run one command. A reader that stops early (`bene-tui outbox | head -1`) ends it quietly with
    141 (128 + SIGPIPE, what a shell reports for a command killed by a closed pipe); Ctrl+C ends it
    with one line and 130 (128 + SIGINT). Neither prints a traceback."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # here, so that a closed pipe is seen here and not at exit
        return code
    except BrokenPipeError:
        _discard_stdout()
        return 141
    except KeyboardInterrupt:
        _discard_stdout()  # what is still buffered may be for a pipe nobody reads
        print("\nbene-tui: interrupted.", file=sys.stderr)
        return 130


def _run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    handler = COMMANDS.get(args.command or "run")
    try:
        return handler(args) or 0
    except ValueError as exc:  # bad settings (language, mode) or bad files
        print(f"bene-tui: {exc}", file=sys.stderr)
        return 2


def _discard_stdout() -> None:
    """Point stdout at devnull, so the interpreter's last flush at exit cannot fail or block
    (the Python docs' recipe for SIGPIPE: docs.python.org/3/library/signal.html#note-on-sigpipe)."""

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a file (a test's StringIO): nothing will flush to a pipe
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


# ---------------------------------------------------------------------------------------------
# Data commands: rosters, the outbox, the demo world.


def _add_data_commands(sub) -> None:
    imp = sub.add_parser("import", help="import organisations and members from a JSON roster (all or nothing)")
    imp.add_argument("file", help="roster JSON: {services: [...], organisations: [{group_id, ..., members: [...]}]} "
                                   "(the format is described in bene_tui/services/roster.py)")
    csv_ = sub.add_parser("import-roster", help="import one organisation's members from a CSV file")
    csv_.add_argument("group_id", help="団体ID of an organisation already imported")
    csv_.add_argument("file", help="CSV with header auth_key_1,auth_key_2,name,kana,birth_date,email_on_file,services")
    csv_.add_argument("--encoding", default="utf-8",
                      help="the file's encoding: utf-8 (the default; with or without a BOM) or cp932 for Shift-JIS")
    out = sub.add_parser("outbox", help="list the simulated e-mails and SMS, newest first")
    out.add_argument("--to", metavar="LOGIN_ID", help="only messages to this e-mail address or mobile number")
    out.add_argument("--json", action="store_true", help="print JSON (an array; an object with --last)")
    out.add_argument("--last", action="store_true", help="only the newest message")
    out.add_argument("--limit", type=int, default=200, help="at most this many messages (default 200)")
    demo = sub.add_parser("demo", help="demo data and snapshots")
    what = demo.add_mutually_exclusive_group()
    what.add_argument("--reset", action="store_true", help="wipe the database and restore the demo organisations")
    what.add_argument("--save", metavar="NAME", help="save the whole store as snapshot NAME (while terminals run)")
    what.add_argument("--load", metavar="NAME", help="replace the store's contents by snapshot NAME; the demo's "
                                                      "ctrl+t then rewinds to it")
    what.add_argument("--list", action="store_true", help="list the saved snapshots")


def _context(args: argparse.Namespace):
    # start-up: this command's own modules (cli.main starts the app)
    from bene_tui.services.context import open_context

    ctx, _ = open_context(Settings.from_env(db_path=args.db, lang=args.lang, mode=args.mode))
    return ctx.as_actor("cli")


def _run_import(args: argparse.Namespace, label: str, do_import) -> int:
    """Run one import with a progress bar (by bytes read) on stderr and a summary on stdout."""
    # start-up: this command's own modules (cli.main starts the app)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    from bene_tui.services.roster import RosterError

    path = Path(args.file)
    if not path.is_file():
        print(f"bene-tui: no such file: {path}", file=sys.stderr)
        return 1
    ctx = _context(args)
    console = Console(stderr=True)
    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    try:
        # A bar only on a terminal: into a file or a pipe, Rich's Live would leave a stray newline.
        with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task(label, total=path.stat().st_size)
            result = do_import(ctx, path, lambda done, total: bar.update(task, completed=done, total=total))
    except RosterError as exc:
        print(f"bene-tui: {path.name}: {exc.explain(ctx.lang)}", file=sys.stderr)
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
    # start-up: this command's own modules (cli.main starts the app)
    from .services import roster

    return _run_import(args, "importing", roster.import_file)


def import_roster(args: argparse.Namespace) -> int:
    # start-up: this command's own modules (cli.main starts the app)
    from .services import roster

    return _run_import(args, f"importing {args.group_id}",
                       lambda ctx, path, progress: roster.import_roster_csv(ctx, args.group_id, path, progress,
                                                                            args.encoding))


def outbox_cmd(args: argparse.Namespace) -> int:
    # start-up: this command's own modules (cli.main starts the app)
    from bene_tui.services.normalize import display_login_id, login_id
    from .services import outbox

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
    # start-up: this command's own modules (cli.main starts the app)
    from .services import roster

    if args.save is not None or args.load is not None or args.list:
        return snapshot_cmd(args)
    if not args.reset:
        print("bene-tui demo: nothing to do; use --reset, --save NAME, --load NAME or --list", file=sys.stderr)
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
    serve = sub.add_parser("serve", help="serve the app to a web browser with textual-serve (loopback only by default; "
                                         "prints the URL with this start's token)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="allow a --host that is not loopback (anyone who can reach it and has the URL can "
                            "drive the terminal; no TLS)")


def _kiosk_pin_ready() -> bool:
    """A kiosk that nobody could leave without killing it is refused: set the PIN first."""
    # start-up: this command's own modules (cli.main starts the app)
    from bene_tui.services.context import default_secrets_file
    from bene_tui.services.secret_store import SecretStore
    from .services import pin

    if SecretStore(default_secrets_file()).get(pin.SECRET_NAME):
        return True
    print("bene-tui: kiosk mode needs an operator PIN; set one first with `bene-tui set-pin`.", file=sys.stderr)
    return False


def set_pin_cmd(args: argparse.Namespace) -> int:
    # start-up: this command's own modules (cli.main starts the app)
    from .services import pin

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
    # start-up: this command's own modules (cli.main starts the app)
    from .ui import scenario as scenarios

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
    # start-up: this command's own modules (cli.main starts the app)
    from bene_tui.ui.app import BeneApp

    app = BeneApp(db_path=args.db, lang=args.lang or found.lang, mode=args.mode or "demo")
    app.modes.autoplay(found, args.speed)
    app.run()
    return app.return_code or 0


def serve_cmd(args: argparse.Namespace) -> int:
    settings = Settings.from_env(db_path=args.db, lang=args.lang, mode=args.mode)  # bad values fail here
    if settings.mode == "kiosk" and not _kiosk_pin_ready():
        return 2
    try:
        address = ipaddress.ip_address(args.host)
    except ValueError:
        address = None  # a host name
    exposes = (f"anyone who can reach {args.host} port {args.port} and has the URL can drive the terminal "
               "(in demo mode: read every code in the outbox), and it is plain HTTP (no TLS): anyone on the "
               "way can read the URL's token and the screens")
    if not (args.host == "localhost" or (address and address.is_loopback)):
        if not args.allow_remote:
            print(f"bene-tui: --host {args.host} is not a loopback address: {exposes}. "
                  "Add --allow-remote if that is what you want.", file=sys.stderr)
            return 2
        if address and address.is_unspecified:
            print(f"bene-tui: --host {args.host} names no address a browser can use: the page tells the browser "
                  "where to connect. Give the address browsers will use (e.g. --host 192.168.1.20).", file=sys.stderr)
            return 2
        print(f"bene-tui: warning: {exposes}.", file=sys.stderr)
    command = [sys.executable, "-m", "bene_tui.cli"]
    for flag, value in (("--db", args.db), ("--lang", args.lang), ("--mode", args.mode)):
        if value:
            command += [flag, value]
    # start-up: this command's own modules (cli.main starts the app)
    from bene_tui.ui.serve import LockedServer
    from .services import audit

    ctx = _context(args).as_actor("serve")
    try:
        server = LockedServer(shlex.join([*command, "run"]), ctx, host=args.host, port=args.port, title="bene-tui")
        with ctx.tx():
            audit.record(ctx, "serve.start", f"terminal:{ctx.terminal}", "ok", host=args.host, port=args.port)
        server.serve()
    finally:
        ctx.store.close()
    return 0


# ---------------------------------------------------------------------------------------------
# Administration: the audit trail out, demo snapshots, the effective settings.


def _add_admin_commands(sub) -> None:
    aud = sub.add_parser("audit", help="export or prune the audit trail")
    asub = aud.add_subparsers(dest="audit_command", required=True)
    exp = asub.add_parser("export", help="stream the audit rows (id order) as JSON Lines or CSV")
    exp.add_argument("--since", metavar="DATE", help="from this day (YYYY-MM-DD, Japan time) on")
    exp.add_argument("--until", metavar="DATE", help="up to and including this day")
    exp.add_argument("--format", choices=["jsonl", "csv"], required=True)
    exp.add_argument("--out", metavar="FILE", help="write to FILE (created 0600) instead of stdout")
    pr = asub.add_parser("prune", help="remove audit rows older than a day (the prune is audited)")
    pr.add_argument("--before", metavar="DATE",
                    help="remove rows before this day (default: the retention, audit_retention_days, 400)")
    pr.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    sub.add_parser("config", help="print the effective settings and where each came from (flag, environment, "
                                  "file, default)")


def _progress(total: int, label: str):
    """A rich progress bar on stderr when it is a terminal, else nothing: (context manager, update)."""
    if not sys.stderr.isatty():
        return nullcontext(), None
    # start-up: this command's own modules (cli.main starts the app)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    task = bar.add_task(label, total=total)
    return bar, lambda done: bar.update(task, completed=done)


def audit_cmd(args: argparse.Namespace) -> int:
    return {"export": audit_export, "prune": audit_prune}[args.audit_command](args)


def audit_export(args: argparse.Namespace) -> int:
    # start-up: this command's own modules (cli.main starts the app)
    from .services import audit_trail
    from .store import read_snapshot

    start, end = audit_trail.day_range(args.since, args.until)  # a ValueError: main() prints it
    partial = f"{args.out}.partial" if args.out else None
    try:
        out = os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8",
                        newline="") if partial else sys.stdout
        if partial:
            os.chmod(partial, 0o600)  # an earlier file of that name kept its own mode
    except OSError as exc:
        print(f"bene-tui: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    ctx = _context(args)
    try:
        # Through SQLite's page cache, not the memory map: a scan of 10 M rows through the map would
        # count each page of the file it touched in this process's RSS (bench/audit_export_bench.py).
        ctx.db.conn.execute("pragma mmap_size = 0")
        with read_snapshot(ctx.db):  # the count and the rows agree
            total = audit_trail.count(ctx, start, end)
            bar, update = _progress(total, "exporting")
            try:
                with bar:
                    rows = audit_trail.export(ctx, out, args.format, start, end, update)
            finally:
                if partial:
                    out.close()
        if partial:
            os.replace(partial, args.out)  # a whole file or none
        audit_trail.record_export(ctx, rows, args.format, start, end)
    except BaseException:
        if partial and os.path.exists(partial):
            os.unlink(partial)
        raise
    finally:
        ctx.store.close()
    if args.out:
        print(f"Exported {rows:,} audit row(s) to {args.out}.", file=sys.stderr)
    return 0


def audit_prune(args: argparse.Namespace) -> int:
    # start-up: this command's own modules (cli.main starts the app)
    from .services import audit_trail

    ctx = _context(args)
    try:
        before = audit_trail.parse_day(args.before) if args.before else audit_trail.retention_cutoff(ctx)
        due = audit_trail.count(ctx, None, before)
        when = fmt_time(before)
        if not args.yes:
            if not sys.stdin.isatty():
                print(f"bene-tui: {due:,} audit row(s) before {when} would be removed; "
                      "add --yes to remove them.", file=sys.stderr)
                return 2
            answer = input(f"Remove {due:,} audit row(s) before {when}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("Nothing was removed.")
                return 1
        bar, update = _progress(due, "pruning")
        with bar:
            result = audit_trail.prune(ctx, before, update)
    finally:
        ctx.store.close()
    print(f"Removed {result.removed:,} audit row(s) before {when}; the prune itself is recorded in the audit trail.")
    return 0


def snapshot_cmd(args: argparse.Namespace) -> int:
    # start-up: this command's own modules (cli.main starts the app)
    from .services import snapshots

    if args.list:
        found = snapshots.available()
        for snap in found:
            saved = datetime.fromtimestamp(snap.saved_at, JST).strftime("%Y-%m-%d %H:%M:%S")
            print(f"{snap.name:40} {saved}  {snap.bytes / 2**20:9.1f} MiB")
        if not found:
            print("No snapshots. Save one with `bene-tui demo --save NAME`.")
        return 0

    snapshots.check_name(args.load if args.save is None else args.save)  # before anything is opened
    db = Settings.from_env(db_path=args.db).db_path or str(default_db_path())
    snapshots.check_tools(db)
    if args.save is not None:
        snap = snapshots.save(db, args.save)
        print(f"Saved snapshot {snap.name} ({snap.bytes / 2**20:.1f} MiB) in {snap.seconds:.1f} s: {snap.path}")
        return 0
    snapshots.find(args.load)
    ctx = _context(args)
    try:
        snap = snapshots.restore(ctx, args.load, remember=True)
    finally:
        ctx.store.close()
    print(f"Loaded snapshot {snap.name} in {snap.seconds:.1f} s. In demo mode, ctrl+t rewinds to it.")
    return 0


def config_cmd(args: argparse.Namespace) -> int:
    settings = Settings.from_env(db_path=args.db, lang=args.lang, mode=args.mode)  # a bad file: main() says so
    path = settings.config_file
    print(f"Config file: {path} ({'read' if path.is_file() else 'none there; every setting can go in one'})")
    for name, value, source in settings.effective():
        if name == "database" and value is None:
            value = default_db_path()
        print(f"{name:24} {value!s:40} {source}")
    return 0


# ---------------------------------------------------------------------------------------------
# Operations: where people get stuck; a person's data requests.


def _add_ops_commands(sub) -> None:
    rep = sub.add_parser("report", help="registrations per day, organisation and terminal: where people get stuck")
    rep.add_argument("--since", metavar="DATE", help="first day (YYYY-MM-DD, JST)")
    rep.add_argument("--until", metavar="DATE", help="last day (YYYY-MM-DD, JST)")
    rep.add_argument("--org", metavar="GROUP_ID", help="only this organisation (団体ID)")
    rep.add_argument("--terminal", metavar="NAME", help="only this terminal")
    rep.add_argument("--json", action="store_true", help="print JSON: {since, until, org, terminal, totals, days, rows}")
    person = sub.add_parser("person", help="a person's data requests (APPI): disclosure and erasure")
    what = person.add_subparsers(dest="person_command", required=True)
    exp = what.add_parser("export", help="write everything held about the account's person to a JSON file (0600)")
    exp.add_argument("login_id", metavar="LOGIN_ID", help="the account's e-mail address or mobile number")
    exp.add_argument("--out", metavar="FILE", help="the file to create (default: exports/ in the data directory)")
    exp.add_argument("--operator", metavar="NAME", help="who performs it (default: BENE_TUI_OPERATOR or the OS user)")
    era = what.add_parser("erase", help="erase the account: no login, login ID free, personal data replaced")
    era.add_argument("login_id", metavar="LOGIN_ID", help="the account's e-mail address or mobile number")
    era.add_argument("--operator", metavar="NAME", required=True, help="who performs it (recorded in the audit trail)")
    era.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def _refusal(args: argparse.Namespace, error) -> int:
    """A BeneError from a service, said on stderr in the CLI's language (exit 2)."""
    where = {None: "", "login_id": "LOGIN_ID: "}.get(error.field, f"--{error.field}: ")
    command = " ".join(filter(None, (args.command, getattr(args, "person_command", None))))
    print(f"bene-tui {command}: {where}{t(args.lang or 'en', error.key, **error.params)}", file=sys.stderr)
    return 2


def _stdout_console(**kw):
    """A Rich console on stdout whose closed pipe ends the command as every other's does (main(): 141,
    quietly); Rich's own answer is to exit with 1."""
    # start-up: this command's own modules (cli.main starts the app)
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return PipeConsole(**kw)


def report_cmd(args: argparse.Namespace) -> int:
    # start-up: this command's own modules (cli.main starts the app)
    from .services import report

    ctx = _context(args)
    try:
        data = report.summary(ctx, args.since, args.until, args.org, args.terminal)
    except BeneError as error:
        return _refusal(args, error)
    finally:
        ctx.store.close()
    if args.json:
        # Indented for a person; compact (json's C encoder, ten times faster) for a program.
        print(json.dumps(data, ensure_ascii=False, indent=2 if sys.stdout.isatty() else None))
        return 0
    # start-up: this command's own modules (cli.main starts the app)
    from rich.table import Table

    console = _stdout_console(highlight=False, width=None if sys.stdout.isatty() else 200)
    scope = [f"{k} {data[k]}" for k in ("since", "until", "org", "terminal") if data[k]]
    console.print("Registrations" + (f" ({', '.join(scope)})" if scope else " (all days)"), markup=False)
    totals = data["totals"]
    median = totals["median_seconds"]
    console.print(" → ".join(f"{m} {totals[m]}" for m in report.FUNNEL)
                  + f"   median step 1 → completed: {'-' if median is None else f'{median // 60} min {median % 60} s'}",
                  markup=False)
    table = Table("day", "org", "terminal", *(_SHORT[m] for m in report.SHOWN))
    for row in [*data["rows"], {"day": "total", "org": "", "terminal": "", **totals}]:
        table.add_row(row["day"], row["org"], row["terminal"], *(str(row[m]) for m in report.SHOWN))
    console.print(table)
    console.print("  ".join(f"{_SHORT[m]} = {m}" for m in report.SHOWN), markup=False, style="dim")
    return 0


_SHORT = {"started": "step1", "step2": "step2", "code_entered": "code", "completed": "done", "dropped_step1": "drop1",
          "dropped_step2": "drop2", "dropped_step3": "drop3", "code_sent": "sent", "codes_not_entered": "unused",
          "step1_refused": "refused", "lockouts": "locks", "resets": "resets", "linked": "linked",
          "family_invited": "f.inv", "family_approved": "f.appr", "family_registered": "f.reg"}


def person_cmd(args: argparse.Namespace) -> int:
    # start-up: this command's own modules (cli.main starts the app)
    from .services import privacy

    lang = args.lang or "en"
    erase = args.person_command == "erase"
    if erase and not args.yes:
        if not sys.stdin.isatty():
            print(f"bene-tui person erase: {t(lang, 'privacy.error.confirm')}", file=sys.stderr)
            return 2
        answer = input(f"{t(lang, 'privacy.confirm_erase')}\n{args.login_id} [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    ctx = _context(args)
    try:
        account_id = privacy.account_for_login(ctx, args.login_id)
        if erase:
            result = privacy.erase(ctx, account_id, args.operator)
            print(t(lang, "privacy.erased", **result))
        else:
            result = privacy.export(ctx, account_id, args.operator or _shell_operator(), args.out)
            print(t(lang, "privacy.exported", path=result["path"], **result["counts"]))
    except BeneError as error:
        return _refusal(args, error)
    finally:
        ctx.store.close()
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
    # start-up: this command's own modules (cli.main starts the app)
    from bene_tui.services.context import open_context

    ctx, _ = open_context(Settings.from_env(db_path=args.db, lang=args.lang, mode=args.mode), check_key=False)
    return ctx.as_actor("cli")


def db_cmd(args: argparse.Namespace) -> int:
    # start-up: this command's own modules (cli.main starts the app)
    from bene_tui.store.migrations import m
    from .services import keys
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
    # start-up: this command's own modules (cli.main starts the app)
    from .services import keys

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
COMMANDS.update({"audit": audit_cmd, "config": config_cmd})
COMMANDS.update({"report": report_cmd, "person": person_cmd})

if __name__ == "__main__":
    sys.exit(main())
