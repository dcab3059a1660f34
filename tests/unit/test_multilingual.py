"""A group post in the group's languages: each language's line marked, in the group's
order; a text that reads the same in two languages (not translated yet) said once."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.i18n import create_i18n
from handlers.multilingual import button_label, joined, languages_of
from storage.models import ProgramGroup


def test_lines_in_the_groups_order_each_marked() -> None:
    i18n = create_i18n("en")
    with i18n.context():
        text = joined(i18n, ["es", "en", "de"], lambda _lang: _("Cancelled"))
    assert text.splitlines() == ["ES: Cancelada", "EN: Cancelled", "DE: Abgesagt"]


def test_one_language_or_one_text_is_said_plainly() -> None:
    i18n = create_i18n("en")
    with i18n.context():
        assert joined(i18n, ["de"], lambda _lang: _("Cancelled")) == "Abgesagt"
        assert joined(i18n, ["en", "es", "de"], lambda _lang: "👥 3/10") == "👥 3/10"
        assert button_label(i18n, ["en", "es", "de"], lambda _lang: _("I'm coming")) == (
            "I'm coming · Voy · Ich komme"
        )


def test_a_group_without_languages_uses_the_fallback() -> None:
    assert languages_of(None, "es") == ["es"]
    group = ProgramGroup(chat_id=-1, languages="de,en", timezone="Europe/Berlin")
    assert languages_of(group, "es") == ["de", "en"]
