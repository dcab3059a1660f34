"""On call: /oncall offers only what fits the presser and answers a stale button with how
things stand now; the weekly rota is read line by line and hands the shift over at its
boundaries, reminding the incoming supervisor in their language (Telegram faked)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from bot.i18n import create_i18n
from bot.scheduler import run_due
from flows import rota as rota_flow
from handlers.oncall import schedule_next
from storage import oncall, users
from storage import rota as rota_store
from storage.models import Role
from tests.harness import Harness
from tests.unit.alert_helpers import (
    ONLY_SUPERVISORS,
    alert_settings,
    audit_rows,
    member,
    on_call,
    outbox_rows,
    shifts,
    shown_message,
)
from tests.unit.chat_helpers import Watch, person

MENTEE, SUPERVISOR, SUPERVISOR_2, SUPERVISOR_3, MENTOR = 300, 900, 901, 902, 800
MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
CHANGED = "This has changed since. Here is how it stands now."


@pytest.fixture
def settings(tmp_path, database_url):
    return alert_settings(tmp_path, database_url)


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def staff(sessionmaker) -> None:
    await member(sessionmaker, SUPERVISOR, role=Role.SUPERVISOR, display_name="Dana")
    await member(sessionmaker, SUPERVISOR_2, role=Role.SUPERVISOR, display_name="Eve")
    await member(
        sessionmaker,
        SUPERVISOR_3,
        role=Role.SUPERVISOR,
        display_name="Lucía",
        locale="es",
        zone="Europe/Madrid",
    )
    await member(sessionmaker, MENTOR, role=Role.MENTOR, display_name="Mo")


# --- /oncall ----------------------------------------------------------------------------------


async def test_oncall_offers_only_what_fits_the_presser(harness, watch, sessionmaker) -> None:
    await staff(sessionmaker)
    dana, eve = person(harness, watch, SUPERVISOR), person(harness, watch, SUPERVISOR_2)

    shown = await dana.send("/oncall")
    assert "On call now: nobody" in shown.text and "You are not on call." in shown.text
    assert "alerts go to every supervisor" in shown.text
    assert dana.labels() == ["Take primary", "Take backup"]

    assert await dana.tap("Take primary") == "You are on call now."
    assert "On call now: Dana" in dana.shown().text and "You are on call" in dana.shown().text
    assert dana.labels() == ["End my shift", "Switch to backup"]

    shown = await eve.send("/oncall")
    assert "On call now: Dana" in shown.text and "Backups: nobody" in shown.text
    assert eve.labels() == ["Take primary", "Take backup"]
    assert await eve.tap("Take backup") == "You are a backup now."
    assert eve.labels() == ["Take primary", "End my shift"]
    assert "You are a backup" in eve.shown().text

    assert await dana.tap("Switch to backup") == "You are a backup now."
    assert await shifts(sessionmaker) == [(SUPERVISOR_2, "backup"), (SUPERVISOR, "backup")]
    assert "On call now: nobody" in dana.shown().text
    assert await dana.tap("End my shift") == "Your shift has ended."
    assert dana.labels() == ["Take primary", "Take backup"]
    actions = [(a[0], a[2]) for a in await audit_rows(sessionmaker)]
    assert actions == [
        ("shift_primary", SUPERVISOR),
        ("shift_backup", SUPERVISOR_2),
        ("shift_to_backup", SUPERVISOR),
        ("shift_end", SUPERVISOR),
    ]


async def test_a_stale_button_shows_how_it_stands_instead_of_acting(
    harness, watch, sessionmaker
) -> None:
    await staff(sessionmaker)
    dana, eve = person(harness, watch, SUPERVISOR), person(harness, watch, SUPERVISOR_2)
    await dana.send("/oncall")  # offered when nobody was primary
    offered = dana.shown()
    await eve.send("/oncall")
    await eve.tap("Take primary")  # meanwhile Eve takes it

    assert await dana.tap("Take primary", offered) == CHANGED
    assert await shifts(sessionmaker) == [(SUPERVISOR_2, "primary")], "Eve keeps it"
    assert "On call now: Eve" in dana.shown().text
    assert dana.labels() == ["Take primary", "Take backup"]

    # Eve's shift is ended elsewhere (the command line): her "End my shift" is stale.
    await eve.send("/oncall")
    ending = eve.shown()
    async with sessionmaker() as session:
        await oncall.end(session, await users.get_by_telegram_id(session, SUPERVISOR_2))
        await session.commit()
    assert await eve.tap("End my shift", ending) == CHANGED
    assert "On call now: nobody" in eve.shown().text
    assert eve.labels() == ["Take primary", "Take backup"]
    # A button of an older bot (no state carried) acts on nothing either.
    assert await eve.press("shift:primary", ending) == "This button has expired."
    assert await shifts(sessionmaker) == []


async def test_taking_primary_tells_the_one_who_held_it(harness, watch, sessionmaker) -> None:
    await staff(sessionmaker)
    await on_call(sessionmaker, SUPERVISOR_3)  # Lucía, who reads Spanish
    eve = person(harness, watch, SUPERVISOR_2)
    await eve.send("/oncall")
    assert "On call now: Lucía" in eve.shown().text
    await eve.tap("Take primary")
    [told] = [r for r in await outbox_rows(sessionmaker) if r.chat_id == SUPERVISOR_3]
    assert "Eve" in told.text and "guardia" in told.text, told.text  # in Spanish


@pytest.mark.parametrize("presser", [MENTEE, MENTOR])
async def test_only_supervisors_take_shifts(harness, watch, sessionmaker, presser) -> None:
    await staff(sessionmaker)
    await member(sessionmaker, MENTEE)
    someone = person(harness, watch, presser)
    said = "\n".join(s.text or "" for s in await someone.say("/oncall"))
    assert "On call now" not in said
    shown = shown_message(presser, 5000, "x", None)
    assert await someone.press("shift:primary:0:none", shown) == ONLY_SUPERVISORS
    assert await shifts(sessionmaker) == []


# --- the rota file ----------------------------------------------------------------------------

GOOD = """\
# our rota
timezone: Europe/Madrid
Mon-Fri  08:00  18:00  900  901
Mon-Thu, 18:00, 08:00, 902
Fri      18:00  24:00  902
Sat      00:00  24:00  901  900
Sunday   00:00  24:00  902
"""


def test_a_rota_file_is_read_with_ranges_night_shifts_and_midnight() -> None:
    rota = rota_flow.parse(GOOD)
    assert rota.zone == "Europe/Madrid"
    assert len(rota.slots) == 12  # five days, four nights, Friday evening, Saturday, Sunday
    night = next(s for s in rota.slots if s.weekday == 3 and s.starts == dt.time(18))
    assert (night.primary, night.backup, night.minutes, night.line) == (902, None, 14 * 60, 4)
    friday = next(s for s in rota.slots if s.weekday == 4 and s.starts == dt.time(18))
    assert friday.minutes == 6 * 60
    saturday = next(s for s in rota.slots if s.weekday == 5)
    assert saturday.minutes == 24 * 60 and saturday.backup == 900


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Mon 08:00 18:00 900", "no time zone"),
        ("timezone: Mars/Base\nMon 08:00 18:00 900", "line 1: unknown time zone 'Mars/Base'"),
        ("tz Europe/Madrid\nMonday 08:00 18:00 900\nMondai 08:00 18:00 900", "line 3: 'mondai'"),
        ("tz Europe/Madrid\n\nMon 8h 18:00 900", "line 3: '8h' is not a start time"),
        ("tz Europe/Madrid\nMon 08:00 25:00 900", "line 2: '25:00' is not a end time"),
        ("tz Europe/Madrid\nMon 08:00 08:00 900", "line 2: the shift ends when it starts"),
        ("tz Europe/Madrid\nMon 08:00 18:00 @dana", "line 2: '@dana' is not a Telegram user id"),
        ("tz Europe/Madrid\nMon 08:00 18:00 900 900", "line 2: 900 cannot be their own backup"),
        ("tz Europe/Madrid\nMon 08:00 18:00", "line 2: expected 'day start end primary"),
        (
            "tz Europe/Madrid\nMon-Fri 08:00 18:00 900\n# x\nWed 17:00 20:00 901",
            "line 4: this shift overlaps the one on line 2 (Wed 08:00)",
        ),
        (
            "tz Europe/Madrid\nSun 22:00 06:00 900\nMon 05:00 09:00 901",
            "line 3: this shift overlaps the one on line 2",
        ),
    ],
)
def test_a_bad_rota_file_names_its_line(text: str, said: str) -> None:
    with pytest.raises(rota_flow.RotaError) as error:
        rota_flow.parse(text)
    assert said in str(error.value)


def test_shift_times_follow_the_zone_across_a_dst_change() -> None:
    rota = rota_flow.parse("timezone: Europe/Madrid\nSun 00:00 24:00 900\nSat 08:00 20:00 901")
    # 25 October 2026: Madrid goes from CEST (+2) back to CET (+1); the Sunday is 25 hours.
    sunday = rota_flow.covering(rota, dt.datetime(2026, 10, 25, 12, tzinfo=dt.UTC))
    assert sunday is not None and sunday.slot.primary == 900
    assert sunday.start == dt.datetime(2026, 10, 24, 22, tzinfo=dt.UTC)
    assert sunday.end == dt.datetime(2026, 10, 25, 23, tzinfo=dt.UTC)
    # A Saturday night shift running into that Sunday overlaps it: refused.
    with pytest.raises(rota_flow.RotaError):
        rota_flow.parse("timezone: Europe/Madrid\nSat 20:00 08:00 901\nSun 00:00 24:00 900")


def test_this_weeks_shifts_include_a_sunday_night_still_under_way_on_monday() -> None:
    rota = rota_flow.parse("timezone: Europe/Madrid\nSun 23:00 02:00 900\nMon 08:00 18:00 901")
    monday_night = dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC)  # Monday 00:30 in Madrid
    shown = rota_flow.this_week(rota, monday_night)
    under_way = rota_flow.covering(rota, monday_night)
    assert under_way is not None and shown[0] == under_way  # began Sunday 6, listed first
    assert [s.slot.primary for s in shown] == [900, 901, 900]  # and next Sunday's too
    # Midweek the list is the week's alone.
    wednesday = dt.datetime(2026, 12, 9, 12, tzinfo=dt.UTC)
    assert [s.slot.primary for s in rota_flow.this_week(rota, wednesday)] == [901, 900]


# --- the rota's tick --------------------------------------------------------------------------


def madrid(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """A moment in the week of Monday 7 December 2026, Madrid time, as UTC."""
    local = dt.datetime(2026, 12, day, hour, minute, second, tzinfo=MADRID)
    return local.astimezone(dt.UTC)


async def set_rota(sessionmaker, text: str, now: dt.datetime) -> None:
    """What `peerbot oncall rota set` stores (people resolved to users.id)."""
    rota = rota_flow.parse(text)
    async with sessionmaker() as session:
        ids = {t: (await users.get_by_telegram_id(session, t)).id for t in rota.people()}
        stored = rota.with_people(ids)
        await rota_store.replace(session, rota_flow.to_rows(stored))
        await schedule_next(session, stored, now)
        await session.commit()


async def test_the_rota_reminds_then_hands_over_and_a_manual_take_lasts_until_the_next_boundary(
    harness, watch, sessionmaker, settings
) -> None:
    await staff(sessionmaker)
    await member(sessionmaker, MENTEE)
    await person(harness, watch, MENTEE).say("I want to kill myself tonight")  # one open case
    await on_call(sessionmaker, SUPERVISOR)  # Dana holds it before the rota
    rota = "timezone: Europe/Madrid\nMon 08:00 18:00 902 901\nMon 18:00 22:00 900\n"
    await set_rota(sessionmaker, rota, madrid(7, 7, 0))
    i18n = create_i18n("en")

    async def tick(at: dt.datetime) -> None:
        await run_due(sessionmaker, settings, i18n, now=at)

    await tick(madrid(7, 7, 44))  # nothing yet
    assert not [r for r in await outbox_rows(sessionmaker) if r.key.startswith("rota:")]
    await tick(madrid(7, 7, 45, 5))  # 15 minutes before: Lucía (primary) and Eve (backup)
    reminders = {r.chat_id: r.text for r in await outbox_rows(sessionmaker) if "remind" in r.key}
    assert set(reminders) == {SUPERVISOR_3, SUPERVISOR_2}
    assert "08:00" in reminders[SUPERVISOR_3] and "1" in reminders[SUPERVISOR_3]
    assert "guardia" in reminders[SUPERVISOR_3], reminders[SUPERVISOR_3]  # in Spanish
    assert "Open cases now: 1" in reminders[SUPERVISOR_2]
    assert await shifts(sessionmaker) == [(SUPERVISOR, "primary")], "not before 08:00"

    await tick(madrid(7, 8, 0, 10))
    assert await shifts(sessionmaker) == [(SUPERVISOR_3, "primary"), (SUPERVISOR_2, "backup")]
    told = {r.chat_id: r.text for r in await outbox_rows(sessionmaker) if ":end:" in r.key}
    assert "Your on-call shift has ended" in told[SUPERVISOR] and "Lucía" in told[SUPERVISOR]

    # Dana takes the shift by hand at noon: it is hers until the 18:00 boundary.
    dana = person(harness, watch, SUPERVISOR)
    await dana.send("/oncall")
    assert "Rota: next hand-over" in dana.shown().text
    await dana.tap("Take primary")
    await tick(madrid(7, 12, 0))
    assert (SUPERVISOR, "primary") in await shifts(sessionmaker)
    await tick(madrid(7, 17, 45, 1))  # Dana is reminded of the evening shift anyway
    await tick(madrid(7, 18, 0, 1))
    assert await shifts(sessionmaker) == [(SUPERVISOR, "primary")]  # the evening is hers
    # 22:00: a gap in the rota. Nobody is on call: alerts page every supervisor.
    await tick(madrid(7, 22, 0, 1))
    assert await shifts(sessionmaker) == []
    ended = [
        r for r in await outbox_rows(sessionmaker) if r.chat_id == SUPERVISOR and ":end:" in r.key
    ]
    assert "every supervisor" in ended[-1].text


async def test_a_boundary_passes_over_someone_no_longer_a_supervisor(
    harness, watch, sessionmaker, settings
) -> None:
    await staff(sessionmaker)
    await set_rota(sessionmaker, "tz Europe/Madrid\nMon 08:00 18:00 902 901\n", madrid(7, 7))
    async with sessionmaker() as session:
        lucia = await users.get_by_telegram_id(session, SUPERVISOR_3)
        lucia.role = Role.MENTEE
        await session.commit()
    await run_due(sessionmaker, settings, create_i18n("en"), now=madrid(7, 8, 0, 5))
    assert await shifts(sessionmaker) == [(SUPERVISOR_2, "backup")]


async def test_a_bot_that_was_down_applies_the_last_boundary_and_skips_stale_reminders(
    harness, watch, sessionmaker, settings
) -> None:
    await staff(sessionmaker)
    rota = "tz Europe/Madrid\nMon 08:00 12:00 900\nMon 12:00 16:00 901\nMon 16:00 20:00 902\n"
    await set_rota(sessionmaker, rota, madrid(7, 7, 0))
    # Down from 07:00 to 13:30: Eve's shift is under way; nobody hears of Dana's morning.
    await run_due(sessionmaker, settings, create_i18n("en"), now=madrid(7, 13, 30))
    assert await shifts(sessionmaker) == [(SUPERVISOR_2, "primary")]
    sent = [(r.chat_id, r.key.split(":")[1]) for r in await outbox_rows(sessionmaker)]
    assert sent == [(SUPERVISOR_2, "start")], "no reminder for a shift already begun"
