"""Longer texts that more than one handler shows. Every string goes through gettext."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from storage.models import Role


def about() -> str:
    return _(
        "I'm peerbot, the assistant of your peer-mentorship program. Every day I help you "
        "keep a short log of your symptoms, energy and pacing — mostly taps, under a minute — "
        "and I keep you in touch with a mentor who has lived with similar symptoms.\n\n"
        "I am <b>not</b> an emergency service and I am not a doctor. If you are in danger or "
        "might harm yourself, call your local emergency number now (112 across Europe, 911 in "
        "North America, or your country's number) or go to the nearest emergency department. "
        "/crisis shows crisis lines at any time."
    )


def consent() -> str:
    return _(
        "<b>Before we begin: your data and your say</b>\n\n"
        "• <b>What I store:</b> your daily logs (symptoms, energy, activity, sleep, mood and an "
        "optional note), your language, time zone and check-in time. Notes and other free text "
        "are encrypted.\n"
        "• <b>Who sees what:</b> your mentor sees only what you choose to share. If a message "
        "of yours sounds like you may be in danger, an on-call supervisor of the program is "
        "told, with that sentence and a pseudonym — not your history.\n"
        "• <b>Your control:</b> /privacy shows this again, exports everything I hold about you, "
        "or deletes it.\n\n"
        "Do you agree to this?"
    )


def role_name(role: Role | str) -> str:
    names = {
        Role.MENTEE: _("mentee"),
        Role.MENTOR: _("mentor"),
        Role.SUPERVISOR: _("supervisor"),
        Role.ADMIN: _("program admin"),
    }
    return names[Role(role)]


def private_chat_only() -> str:
    return _("Let's talk about this in a private chat, just you and me. Tap below to open it.")


def not_onboarded() -> str:
    return _("Let's get you set up first — it takes a minute. Send /start to begin.")


def not_for_role() -> str:
    return _("That command isn't part of your role in the program. /help lists what you can do.")


def only_for(roles: frozenset[Role]) -> str:
    """A command of another role: say whose it is, kindly, and where to look instead."""
    if roles == {Role.MENTOR}:
        return _("That one is for mentors. /help lists what you can do.")
    if roles == {Role.MENTEE}:
        return _("That one is for mentees. /help lists what you can do.")
    if Role.MENTEE in roles and Role.MENTOR in roles:
        return _("That one is for mentees and mentors. /help lists what you can do.")
    return _("That one is for the program's staff. /help lists what you can do.")
