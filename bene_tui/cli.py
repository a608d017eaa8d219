"""The bene-tui command line. Keeps heavy imports inside the commands: start-up time matters."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bene-tui", description="Bene Account flows in the terminal (kiosk, helpdesk, demo).")
    p.add_argument("--db", help="SQLite file (default: the user data directory; env BENE_TUI_DB)")
    p.add_argument("--lang", choices=["ja", "en"], help="language (default ja; env BENE_TUI_LANG)")
    p.add_argument("--mode", choices=["kiosk", "helpdesk", "demo"], help="mode (default demo; env BENE_TUI_MODE)")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("run", help="start the app (the default)")
    _add_data_commands(sub)
    return p


def run_app(args: argparse.Namespace, open_link: str | None = None) -> int:
    from .app import BeneApp

    app = BeneApp(db_path=args.db, lang=args.lang, mode=args.mode, open_link=open_link)
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
    imp.add_argument("file", help="roster in the JSON format of docs (services, organisations, members)")
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


COMMANDS = {"run": run_app, "import": import_json, "import-roster": import_roster, "outbox": outbox_cmd,
            "demo": demo_cmd}

if __name__ == "__main__":
    sys.exit(main())
