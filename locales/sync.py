"""Bring the catalogs up to date with the code: `python -m locales.sync`.

Extracts every gettext string from bot/, handlers/ and flows/ into peerbot.pot,
merges it into each language's .po (new strings arrive untranslated, for the
translators), and fills the English catalog, whose source text is its translation.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEMPLATE = HERE / "peerbot.pot"
SOURCE_LANGUAGE = "en"


def pybabel(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", *args], check=True, cwd=ROOT
    )


def fill_source_language() -> None:
    path = HERE / SOURCE_LANGUAGE / "LC_MESSAGES" / "peerbot.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=SOURCE_LANGUAGE)
    for message in catalog:
        if message.id and not any(message.string if message.pluralizable else [message.string]):
            message.string = message.id  # a plural's forms are its singular and plural
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False)


def main() -> None:
    pybabel(
        "extract", "-F", "babel.cfg", "-k", "__", "--no-location", "--sort-output",
        "--project", "peerbot", "-o", str(TEMPLATE), "bot", "handlers", "flows",
    )  # fmt: skip
    pybabel(
        "update",
        "-D",
        "peerbot",
        "-i",
        str(TEMPLATE),
        "-d",
        str(HERE),
        "--no-fuzzy-matching",
        "-w",
        "100",
    )
    fill_source_language()


if __name__ == "__main__":
    main()
