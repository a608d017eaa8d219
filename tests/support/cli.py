"""The command line, run in-process."""

from __future__ import annotations

from bene_tui import cli

def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
