"""gettext for peerbot: catalogs are read from the .po files under locales/ at start-up.

Compiling them in memory with Babel means the .po files translators edit are the
only source, and there is no build step that a new install could miss.
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import locales
from flows.languages import match_language

DOMAIN = "peerbot"
LOCALES_DIR = Path(locales.__file__).resolve().parent


def compile_catalogs(path: Path = LOCALES_DIR) -> dict[str, gettext.GNUTranslations]:
    return dict(_compiled(path))


@functools.cache  # read once a process: every dispatcher built (tests build hundreds) shares them
def _compiled(path: Path) -> dict[str, gettext.GNUTranslations]:
    translations = {}
    for po_path in sorted(path.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        language = po_path.parent.parent.name
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        translations[language] = gettext.GNUTranslations(compiled)
    return translations


def create_i18n(default_locale: str) -> I18n:
    # aiogram's I18n only reads compiled .mo files (and refuses a .po without one), so it
    # starts from a domain with no files and gets the catalogs we compiled. It must be
    # I18n itself, not a subclass: gettext() looks up the current instance by class.
    i18n = I18n(path=LOCALES_DIR, default_locale=default_locale, domain=f"{DOMAIN}.none")
    i18n.domain = DOMAIN
    i18n.locales = compile_catalogs()
    return i18n


class PersonLocaleMiddleware(I18nMiddleware):
    """The person's chosen language, else their Telegram app's language."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        # Kept in data as a plain string: the error handler needs it after a rollback,
        # when the person's database object can no longer be read.
        data["locale"] = locale_for(data, self.i18n.default_locale)
        return data["locale"]


def locale_for(data: dict[str, Any], default: str) -> str:
    if data.get("locale"):
        return str(data["locale"])
    user = data.get("user")
    if user is not None:
        return str(user.locale)
    telegram_user = data.get("event_from_user")
    return match_language(getattr(telegram_user, "language_code", None), default)
