"""`peerbot resources check`: validate every ``locales/<lang>/resources.toml`` and list the
entries whose details were checked more than a year ago (they want a look at their source).

Exit 0 when every file reads, 1 on a malformed file (the message names the file and the
entry). Stale entries are listed but do not fail the check: they are still the best we know.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from flows import resources


def add_commands(commands: Any) -> None:
    parser = commands.add_parser("resources", help="the /resources lists in locales/<lang>/")
    actions = parser.add_subparsers(required=True, metavar="ACTION")
    check = actions.add_parser(
        "check", help="validate the files; list entries checked more than a year ago"
    )
    check.add_argument("--dir", type=Path, help="a locales directory other than the bot's")
    check.set_defaults(handler=check_files)


def check_files(settings: object, args: argparse.Namespace) -> int:
    today = dt.datetime.now(dt.UTC).date()
    directory = args.dir or resources.LOCALES_DIR
    try:
        stale = resources.check_all(today, directory)
    except resources.ResourcesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    counted = {
        path.parent.name: len(resources.parse_file(path))
        for path in sorted(directory.glob(f"*/{resources.FILENAME}"))
    }
    if not counted:
        print(f"error: no {resources.FILENAME} under {directory}", file=sys.stderr)
        return 1
    print("ok: " + ", ".join(f"{lang} {n} entries" for lang, n in counted.items()))
    if stale:
        print(f"{len(stale)} entries were checked more than a year ago; look at their source:")
        for item in stale:
            print(
                f"  {item.path.parent.name}: {item.resource.name} (checked "
                f"{item.resource.checked.isoformat()}, {item.age_days} days ago) "
                f"{item.resource.source}"
            )
    return 0
