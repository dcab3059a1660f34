"""The rules of program groups: a summary is never made of fewer than three answers, posts
carry each of the group's languages, who may set a group up or use its tools, when the
weekly check-in falls, who has gone quiet, and the deep links a group hands out."""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.utils.i18n import gettext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import create_i18n
from flows import groups as rules
from handlers import group, group_checkin
from handlers.group_render import in_languages, label_in_languages
from storage import groups, personal_data, users
from storage.models import ProgramGroup, Role, User, utcnow

UTC = dt.UTC


def person(role: Role = Role.MENTEE, *, onboarded: bool = True, consent: bool = True) -> User:
    return User(
        id=1,
        telegram_id=1,
        role=role,
        locale="en",
        pseudonym="P",
        consent_version=1 if consent else None,
        onboarded_at=utcnow() if onboarded else None,
    )


# --- the summary: never for fewer than three ------------------------------------------------


@pytest.mark.parametrize("answers", [0, 1, 2])
def test_no_summary_of_fewer_than_three_answers(answers: int) -> None:
    assert rules.summary(["low"] * answers, ["same"] * answers, 9) is None


def test_three_answers_make_a_summary_with_the_most_common_answer() -> None:
    made = rules.summary(["low", "low", "good"], ["same", None, "worse"], 9)
    assert made == rules.Summary(answered=3, members=9, energy="low", pain=rules.MIXED)


def test_a_tie_reads_as_mixed_and_nobody_answering_a_step_leaves_it_out() -> None:
    made = rules.summary(["low", "good", "some", "some", "good"], [None] * 5, 6)
    assert made is not None and made.energy == rules.MIXED and made.pain is None


def test_the_summary_never_says_fewer_members_than_answers() -> None:
    made = rules.summary(["low"] * 4, [None] * 4, 3)  # someone left after answering
    assert made is not None and (made.answered, made.members) == (4, 4)


# --- one post, each of the group's languages -------------------------------------------------


@pytest.fixture
def i18n():
    i18n = create_i18n("en")
    with i18n.context():
        yield i18n


def test_the_invitation_has_a_paragraph_per_language_in_the_groups_order(i18n) -> None:
    text = group_checkin.invitation_text(i18n, ["es", "en", "de"])
    paragraphs = text.split("\n\n")
    assert len(paragraphs) == 3
    assert "semana" in paragraphs[0] and "week" in paragraphs[1] and "Woche" in paragraphs[2]
    assert [p[:4] for p in paragraphs] == ["ES: ", "EN: ", "DE: "]  # marked as events are


def test_a_group_of_one_language_gets_its_text_unmarked(i18n) -> None:
    assert group_checkin.invitation_text(i18n, ["de"]).startswith("🌿 Wöchentlicher Check-in")


def test_a_button_label_carries_each_languages_word(i18n) -> None:
    label = label_in_languages(i18n, ["en", "es", "de"], lambda: gettext("✅ Check in"))
    assert label == "✅ Check in · ✅ Hacer check-in · ✅ Einchecken"


def test_a_text_the_same_in_every_language_is_said_once(i18n) -> None:
    assert in_languages(i18n, ["en", "es", "de"], lambda: "Ana") == "Ana"


def test_an_unknown_language_falls_back_to_english_rather_than_nothing(i18n) -> None:
    assert "week" in group_checkin.invitation_text(i18n, ["xx"])


def test_the_summary_reads_six_of_nine_in_each_language(i18n) -> None:
    summary = rules.summary(["low"] * 4 + ["good"] * 2, ["same"] * 6, 9)
    text = group_checkin.summary_text(i18n, ["en", "es", "de"], summary)
    english, spanish, german = text.split("\n\n")
    assert "6 of 9 checked in" in english and "Energy mostly: low" in english
    assert "6 de 9" in spanish and "baja" in spanish
    assert "6 von 9" in german and "niedrig" in german
    assert "mostly about the same" in english


def test_under_three_answers_the_post_says_why_there_is_no_summary(i18n) -> None:
    text = group_checkin.summary_text(i18n, ["en", "de"], None)
    assert "Fewer than 3" in text and "weniger als 3" in text
    assert " of " not in text.split("\n\n")[0].split(":")[0]  # no count of who answered


def test_the_rules_come_in_each_language(i18n) -> None:
    text = group.rules_text(i18n, ["en", "es", "de"])
    assert "stays here" in text and "se queda aquí" in text and "bleibt hier" in text


# --- who may do what ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.MENTEE, False), (Role.SUPERVISOR, False), (Role.MENTOR, True), (Role.ADMIN, True)],
)
def test_only_mentors_and_admins_set_up_a_group(role: Role, allowed: bool) -> None:
    assert rules.may_set_up(person(role)) is allowed


def test_nobody_sets_up_a_group_before_finishing_onboarding() -> None:
    assert not rules.may_set_up(person(Role.ADMIN, onboarded=False))
    assert not rules.may_set_up(None)


def test_a_groups_tools_are_its_facilitators_and_the_programs_admins() -> None:
    assert rules.may_facilitate(person(Role.MENTEE), "facilitator")
    assert rules.may_facilitate(person(Role.ADMIN), None)
    assert not rules.may_facilitate(person(Role.MENTOR), "member")
    assert not rules.may_facilitate(person(Role.MENTOR), None)
    assert not rules.may_facilitate(None, "facilitator")


def test_a_program_member_has_onboarded_and_consented() -> None:
    assert rules.is_program_member(person())
    assert not rules.is_program_member(person(consent=False))
    assert not rules.is_program_member(person(onboarded=False))


# --- when the check-in falls ---------------------------------------------------------------------


def test_the_next_checkin_is_at_the_groups_local_day_and_time() -> None:
    wednesday = dt.datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    due = rules.next_checkin(0, dt.time(18), "Europe/Madrid", wednesday)  # Mondays 18:00
    assert due == dt.datetime(2026, 12, 7, 17, 0, tzinfo=UTC)


def test_a_checkin_time_already_past_today_goes_to_next_week() -> None:
    monday_evening = dt.datetime(2026, 12, 7, 17, 30, tzinfo=UTC)  # 18:30 in Madrid
    due = rules.next_checkin(0, dt.time(18), "Europe/Madrid", monday_evening)
    assert due == dt.datetime(2026, 12, 14, 17, 0, tzinfo=UTC)


def test_the_checkin_keeps_its_local_time_across_a_dst_change() -> None:
    before_change = dt.datetime(2026, 3, 25, 12, 0, tzinfo=UTC)  # Madrid changes on 29 March
    due = rules.next_checkin(0, dt.time(18), "Europe/Madrid", before_change)
    assert due == dt.datetime(2026, 3, 30, 16, 0, tzinfo=UTC)  # 18:00 summer time


# --- who has gone quiet -------------------------------------------------------------------------


def test_quiet_members_exclude_those_who_answered_and_those_who_just_joined() -> None:
    today = dt.date(2026, 12, 7)
    long_ago = dt.datetime(2026, 10, 1, tzinfo=UTC)
    joined = {1: long_ago, 2: long_ago, 3: dt.datetime(2026, 12, 1, tzinfo=UTC)}
    assert rules.quiet_members(joined, {2}, today, "Europe/Madrid") == [1]


# --- deep links -------------------------------------------------------------------------------------


def test_group_links_read_back_and_fit_telegrams_start_parameter() -> None:
    week = dt.date(2026, 12, 7)
    checkin = rules.checkin_link(42, week)
    assert rules.read_link(checkin) == rules.Link(rules.CHECKIN_LINK, 42, week)
    assert rules.read_link(rules.join_link(42)) == rules.Link(rules.JOIN_LINK, 42)
    assert rules.read_link("sos") == rules.Link(rules.HELP_LINK)
    assert len(checkin) <= 64 and checkin.replace("_", "").isalnum()


@pytest.mark.parametrize("payload", [None, "", "Xk3_9aZ-qL0pRt7w", "gc12_20261340", "gcx", "gj"])
def test_anything_else_is_not_a_group_link(payload: str | None) -> None:
    assert rules.read_link(payload) is None


# --- stored: answers are personal data ----------------------------------------------------------


async def test_a_persons_checkins_are_exported_and_erased_with_them(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        ana = await users.create(session, telegram_id=5, locale="es", pseudonym="P5")
        chat = ProgramGroup(chat_id=-5, languages="es", timezone="Europe/Madrid")
        session.add(chat)
        await session.flush()
        await groups.save_checkin(session, chat.id, ana.id, dt.date(2026, 12, 7), "low", "same")
        exported = await personal_data.export(session, ana)
        assert exported["group_check_ins"] == [
            {"group": chat.id, "week": "2026-12-07", "energy": "low", "pain": "same"}
        ]
        await personal_data.erase(session, ana)
    async with sessionmaker() as session:
        assert await groups.checkins_of_week(session, chat.id, dt.date(2026, 12, 7)) == []
