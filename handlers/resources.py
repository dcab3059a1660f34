"""/resources: patient associations, helplines, clinics, community centres and forums, from
``locales/<lang>/resources.toml`` (``flows/resources.py``), in the person's language.

Two taps: a topic, then a place (a country of the language's file, or Online), or a town
typed. Anyone may search, even before /start: it is public information and nothing is
stored. In a group, the bot answers in the group's languages with a button to the private
chat: the search asks where someone lives, and its list would fill the group's screen.
"""

from __future__ import annotations

from html import escape

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.dates import format_skeleton
from sqlalchemy.ext.asyncio import AsyncSession

from flows import resources as found
from flows.resources import ONLINE, Resource
from handlers.filters import IN_GROUP, PRIVATE, TYPED
from handlers.keyboards import button, rows
from handlers.multilingual import joined, languages_of
from storage import groups

START_PAYLOAD = "resources"  # t.me/<bot>?start=resources opens the search privately
MAX_SHOWN = 8  # a phone screen's worth; more topics or places narrow it

TOPIC_NAMES = {
    "fibromyalgia": __("Fibromyalgia"),
    "me_cfs": __("ME/CFS"),
    "ibs": __("Irritable bowel (IBS)"),
    "fnd": __("Functional neurological disorder (FND)"),
    "chronic_pain": __("Chronic pain"),
    "wellbeing": __("Someone to talk to"),
}
KIND_NAMES = {
    "patient_association": __("patient association"),
    "helpline": __("helpline"),
    "clinic": __("clinic"),
    "community_centre": __("community centre"),
    "online_forum": __("online forum"),
    "information": __("information"),
}
ALL = "all"


class ResourcePick(CallbackData, prefix="res"):
    topic: str  # a topic, or "all"
    place: str = ""  # "" (ask), a country code, or "online"


class ResourceFinding(StatesGroup):
    place = State()  # a town may be typed; the state's data holds the topic


def router() -> Router:
    r = Router(name="resources")
    r.message.register(
        start_search, CommandStart(deep_link=True, magic=F.args == START_PAYLOAD), PRIVATE
    )
    r.message.register(start_search, Command("resources"), PRIVATE)
    r.message.register(point_to_private, Command("resources"), IN_GROUP)
    r.callback_query.register(picked, ResourcePick.filter())
    r.message.register(place_typed, StateFilter(ResourceFinding.place), PRIVATE, TYPED)
    return r


async def start_search(message: Message, state: FSMContext) -> None:
    await _end_search(state)  # a search under way starts over
    await message.answer(_topic_question(), reply_markup=_topic_keyboard())


async def point_to_private(message: Message, session: AsyncSession, bot: Bot, i18n: I18n) -> None:
    """In a group: the group's languages, one post, a button to the private chat."""
    me = await bot.me()
    group = await groups.by_chat(session, message.chat.id)
    languages = languages_of(group, get_i18n().current_locale)
    text = joined(
        i18n,
        languages,
        lambda _lang: _(
            "I'll help you look for support near you in our private chat: where you live "
            "stays between us. Tap below."
        ),
    )
    link = f"https://t.me/{me.username}?start={START_PAYLOAD}"
    await message.reply(
        text,
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="🔎 /resources ▸", url=link)]]
        ),
    )


async def picked(query: CallbackQuery, callback_data: ResourcePick, state: FSMContext) -> None:
    """A topic (then the place question) or a place (then the list). The data is only a hint:
    an unknown topic or place is told, not guessed."""
    language = get_i18n().current_locale
    topic = None if callback_data.topic in (ALL, "") else callback_data.topic
    if (topic is not None and topic not in found.TOPICS) or not isinstance(query.message, Message):
        await query.answer(_("This button has expired."))
        return
    if query.message.chat.type != "private":
        await query.answer(_("Please use /resources in our private chat."))
        return
    await query.answer()
    place = callback_data.place
    if not place:
        await _ask_place(query.message, state, callback_data.topic, language, edit=True)
        return
    if place != ONLINE and place not in found.countries(language):
        await query.message.answer(_("I don't know that place yet."))
        await _ask_place(query.message, state, callback_data.topic, language, edit=False)
        return
    await _end_search(state)
    results = (
        found.online(language, topic)
        if place == ONLINE
        else found.near(language, topic, place, None)
    )
    await _show(query.message, callback_data.topic, place, results, language, edit=True)


async def place_typed(message: Message, state: FSMContext) -> None:
    language = get_i18n().current_locale
    topic_value = (await state.get_data()).get("topic", ALL)
    topic = None if topic_value == ALL else topic_value
    place = found.find_place(language, message.text or "")
    if place is None:
        await message.answer(
            _(
                "I don't have anything for that place yet. Tap your country or Online "
                "below, or try the name of a bigger town nearby."
            ),
            reply_markup=_place_keyboard(topic_value, language),
        )
        return
    await state.clear()
    country, local = place
    results = (
        found.online(language, topic)
        if country == ONLINE
        else found.near(language, topic, country, local)
    )
    await _show(message, topic_value, country, results, language, edit=False)


async def _end_search(state: FSMContext) -> None:
    """Forget the town question, and only that: the buttons of an old list, tapped while
    another conversation is under way (planning an event, a check-in), must not end it."""
    if await state.get_state() == ResourceFinding.place.state:
        await state.clear()


# ----- rendering --------------------------------------------------------------------------


def _topic_question() -> str:
    return _(
        "🔎 <b>Support beyond the program</b>\n\nPatient associations, helplines, "
        "community groups and online forums. What would you like to find?"
    )


def _topic_keyboard() -> InlineKeyboardMarkup:
    choices = [button(str(name), ResourcePick(topic=t)) for t, name in TOPIC_NAMES.items()]
    choices.append(button(_("Everything"), ResourcePick(topic=ALL)))
    return rows(choices, 1)


def _place_keyboard(topic: str, language: str) -> InlineKeyboardMarkup:
    places = [
        button(found.country_name(code, language), ResourcePick(topic=topic, place=code))
        for code in found.countries(language)
    ]
    if found.has_online(language):
        places.append(button(_("🌐 Online"), ResourcePick(topic=topic, place=ONLINE)))
    markup = rows(places, 2)
    back = [button(_("◂ Another topic"), ResourcePick(topic="", place=""))]
    return InlineKeyboardMarkup(inline_keyboard=[*markup.inline_keyboard, back])


async def _ask_place(
    message: Message, state: FSMContext, topic: str, language: str, *, edit: bool
) -> None:
    if topic == "":  # "Another topic"
        await _end_search(state)
        await _put(message, _topic_question(), _topic_keyboard(), edit=True)
        return
    if await state.get_state() in (None, ResourceFinding.place.state):
        # Typing a town needs a state; never take over another conversation under way.
        await state.set_state(ResourceFinding.place)
        await state.set_data({"topic": topic})
        question = _("Where? Tap your country, or type your town or region.")
    else:
        question = _("Where? Tap your country.")
    await _put(message, question, _place_keyboard(topic, language), edit=edit)


async def _show(
    message: Message,
    topic: str,
    place: str,
    results: tuple[Resource, ...],
    language: str,
    *,
    edit: bool,
) -> None:
    where = _("online") if place == ONLINE else found.country_name(place, language)
    about = str(TOPIC_NAMES[topic]) if topic in TOPIC_NAMES else _("everything")
    heading = _("<b>{topic} · {place}</b>").format(topic=escape(about), place=escape(where))
    if not results:
        body = _(
            "I have nothing listed for this yet. Try another topic, or Online; your mentor "
            "or facilitator may know a place, too."
        )
    else:
        body = "\n\n".join(_entry(item, language) for item in results[:MAX_SHOWN])
        if len(results) > MAX_SHOWN:
            body += "\n\n" + _("…and {count} more: choose a topic to narrow the list.").format(
                count=len(results) - MAX_SHOWN
            )
    text = heading + "\n\n" + body
    markup = rows(
        [
            button(_("◂ Another place"), ResourcePick(topic=topic)),
            button(_("◂ Another topic"), ResourcePick(topic="", place="")),
        ],
        2,
    )
    await _put(message, text, markup, edit=edit)


async def _put(message: Message, text: str, markup: InlineKeyboardMarkup, *, edit: bool) -> None:
    """Into the tapped message (``edit``), or a new one. A double tap (a shaky hand, a slow
    phone) edits in the same text again: Telegram refuses that as "not modified", which is
    no failure to report."""
    if not edit:
        await message.answer(text, reply_markup=markup, disable_web_page_preview=True)
        return
    try:
        await message.edit_text(text, reply_markup=markup, disable_web_page_preview=True)
    except TelegramBadRequest as error:
        if "not modified" not in error.message:
            raise


def _entry(item: Resource, language: str) -> str:
    kind = KIND_NAMES.get(item.kind)
    lines = [f"<b>{escape(item.name)}</b> · {kind}", escape(item.description)]
    if item.city or item.region:
        lines.append("📍 " + escape(", ".join(p for p in (item.city, item.region) if p)))
    if item.address:
        lines.append("📍 " + escape(item.address))
    if item.phone:
        lines.append("☎️ " + escape(item.phone))
    lines.append("🌐 " + escape(item.website))
    month = format_skeleton("yMMM", item.checked, locale=language)
    lines.append("<i>" + _("checked {month}").format(month=month) + "</i>")
    return "\n".join(lines)
