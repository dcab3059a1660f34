"""The questionnaire engine in chat: one piece of code renders, answers and stores every
questionnaire declared in ``flows`` (``flows.questionnaire.Questionnaire``).

What every questionnaire gets from it:

- the question with its step counter ("Daily log · 3/10"), its buttons laid out by kind,
  ◂ Back / Skip ▸ / Done ▸ where declared, and ✕ Cancel;
- a tap edits the question in place into the next one; a question asked again (after a
  crisis answer, a sticker, a command that resumes it) is a new message, and the earlier
  copy's buttons are taken off, so one copy is ever live;
- a typed answer where a tap is offered (a scale's number, hours, a button's label); the
  question it answered keeps the answer, echoed, as its buttons go;
- only the buttons of the question asked now count (step and message id are in the
  state); a tap on that message for a step already answered, giving the same answer (the
  edit showing the next question never arrived: the process died while it hung), brings
  the question shown up to date;
- a free text over its limit is kept, with "Keep the first N" and Skip;
- a typed answer handled a second time (the process died after storing it, before the
  inbox forgot it) is not taken as the next question's answer: that question is asked again;
- the draft in the SQL FSM (``state``'s data), so a restart resumes at the same step.

A questionnaire registers itself: a ``Conversation`` adds itself to ``REGISTRY`` (which is
how the crisis plan knows the flows it may pause), makes its own button data when given
none, and, given a ``command``, is wired by this module's ``router`` (its command, with its
roles, in the menu and /help). ``check_wired`` refuses to start a bot with a questionnaire
no router answers; two questionnaires with one name or button prefix are refused when the
second is declared.

Crisis screening has run before any of this (``bot/screening.py``, an outer middleware);
``crisis_answered`` says it answered this message, and then no correction follows.
"""

from __future__ import annotations

import contextlib
import types
import weakref
from collections.abc import Hashable, Iterable, Iterator
from functools import lru_cache
from html import escape
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows.questionnaire import BACK, DONE, SKIP, TRIM, Kind, Progress, Questionnaire, Step
from flows.steps import InvalidAnswer, TooLong
from handlers import menu
from handlers.filters import NOT_TEXT, PRIVATE, TYPED, HasRole
from handlers.keyboards import CancelFlow, button, is_current_prompt, retire_buttons, rows
from storage.models import User

TOO_LONG = __(
    "That is {length} characters long; this can be up to {limit}. I've kept what you "
    "wrote: send a shorter version, or keep the first {limit} characters."
)


REGISTRY: dict[str, Conversation] = {}  # every questionnaire in chat, by name: each adds itself


class Refused(Exception):
    """A tap a questionnaire's own rule turns down, saying why (a toast)."""


def answer_data(prefix: str) -> type[CallbackData]:
    """Button data ``<prefix>:<step>:<value>`` made for a questionnaire that brings none."""

    def body(namespace: dict[str, Any]) -> None:
        namespace["__annotations__"] = {"step": str, "value": str}
        namespace["__module__"] = __name__

    name = "Answer_" + "".join(ch if ch.isalnum() else "_" for ch in prefix)
    made = types.new_class(name, (CallbackData,), {"prefix": prefix}, body)
    return made


def _refuse_a_second(conversation: Conversation) -> None:
    """Two questionnaires with one name (the registry would keep one) or one button prefix
    (they would answer each other's taps): refused when the second is declared, not found
    out in someone's chat. (Two may share a state when each registers with a filter of its
    own that tells their drafts apart.)"""
    flow = conversation.flow
    for other in REGISTRY.values():
        if other is conversation:
            continue
        clash = (
            "name"
            if other.flow.name == flow.name
            else "button prefix"
            if other.answer.__prefix__ == conversation.answer.__prefix__
            else None
        )
        if clash is not None:
            raise ValueError(
                f"questionnaires {other.flow.name!r} and {flow.name!r} share a {clash}"
            )


def forget(conversation: Conversation) -> None:
    """Take a questionnaire out of the registry (a test's own, when the test ends)."""
    if REGISTRY.get(conversation.flow.name) is conversation:
        del REGISTRY[conversation.flow.name]
    if conversation.command is not None:
        menu.forget(conversation.command)


class Conversation:
    """A declared questionnaire in chat. A questionnaire with rules of its own (an extra
    button, what happens when it is complete) subclasses this and overrides the hooks."""

    resumed = __("Let's pick up where you left off.")  # said when /command finds it under way
    # Said when it is given back after a pause (a part of the crisis plan was written while
    # it waited): how to carry on. None: nothing to add.
    waiting: LazyProxy | None = None
    # Said after a sticker, photo or file, before the question is asked again (unless
    # ``ask_after_unreadable`` is False: the question is just above, and long).
    unreadable = __("I can't read that here, so I'll ask again.")
    ask_after_unreadable = True

    def __init__(
        self,
        flow: Questionnaire,
        answer: type[CallbackData] | None = None,
        *,
        command: menu.Command | None = None,
    ) -> None:
        self.flow = flow
        # callback data with ``step`` and ``value`` (made here when not given)
        self.answer = answer or answer_data(flow.name)
        # The command that starts it: this module's router answers it, for its roles, and
        # the menu and /help list it. Without one, the questionnaire's own module wires it.
        self.command = command
        self._routers: weakref.WeakSet[Router] = weakref.WeakSet()
        _refuse_a_second(self)
        if command is not None:
            menu.declare(command)
        REGISTRY[flow.name] = self

    # --- hooks --------------------------------------------------------------------------

    async def context(
        self, user: User | None, settings: Settings, session: AsyncSession | None = None
    ) -> Hashable:
        """What the steps depend on (hashable: questions are rendered once per context)."""
        return None

    def label(self, step: Step, value: str, context: Hashable) -> str:
        """A choice's label (the declaration's, unless the context names it)."""
        return step.label(value)

    def hint(self, step: Step, error: InvalidAnswer) -> str:
        """Said after a typed answer that does not answer."""
        if step.hint is not None:
            return str(step.hint)
        if step.kind is Kind.SCALE:
            return _("Please tap a button, or type a whole number from 0 to 10.")
        if step.skip:
            return _("Please tap one of the buttons, or Skip.")
        return _("Please tap one of the buttons.")

    def extras(self, draft: dict[str, Any], step: str) -> tuple[Hashable, ...]:
        """Marks for ``decorate``: what this question shows beyond its declaration."""
        return ()

    def decorate(
        self, extras: tuple[Hashable, ...], step: str, text: str, markup: list[list[Any]]
    ) -> str:
        """Add to a question's text and rows for its ``extras`` (rendered once, cached)."""
        return text

    async def special(
        self, step: str, value: str, draft: dict[str, Any], user: User, session: AsyncSession
    ) -> Progress | None:
        """A tap the declaration does not know (a shortcut of this questionnaire's own, or a
        choice checked against our records); ``Refused`` or ``InvalidAnswer`` turn it down."""
        return None

    async def answered(
        self,
        message: Message,
        name: str,
        draft: dict[str, Any],
        user: User,
        session: AsyncSession,
        state: FSMContext,
        data: dict[str, Any],
    ) -> bool:
        """An answer to step ``name`` was taken into ``draft["answers"]``, before the next
        question (or ``finish``). A questionnaire that keeps each answer as it comes stores
        it here, and may put a word above what comes next in ``draft["said"]``. ``data`` is
        the update's (what screening found, say). True: this hook has taken the
        conversation elsewhere, and the engine asks nothing more."""
        return False

    async def draft(
        self, message: Message, user: User, session: AsyncSession, settings: Settings
    ) -> dict[str, Any] | None:
        """A new draft for its command (answers known already, say); None: not now (the
        hook has said why)."""
        return {}

    async def finish(
        self,
        message: Message,
        user: User,
        session: AsyncSession,
        state: FSMContext,
        draft: dict[str, Any],
        settings: Settings,
        *,
        edit: bool,
    ) -> None:
        """Store the complete answers and say so (editing the question when ``edit``)."""
        raise NotImplementedError

    def heading(self, name: str, number: int, total: int, context: Hashable) -> str:
        """Above the question: the header with its step counter."""
        return "<i>" + str(self.flow.header).format(number=number, total=total) + "</i>"

    # --- wiring -------------------------------------------------------------------------

    def register(self, router: Router, *filters: Any) -> None:
        answering = StateFilter(self.flow.state)
        router.callback_query.register(self.tapped, self.answer.filter(), answering, *filters)
        router.message.register(self.typed, answering, *filters, TYPED)
        router.message.register(self.not_an_answer, answering, *filters, NOT_TEXT)
        self._routers.add(router)

    def wired_on(self, routers: Iterable[Router]) -> bool:
        """On one of ``routers`` or a router included in one (a module's private part)."""
        return any(router in self._routers for router in _with_included(routers))

    async def start(
        self,
        message: Message,
        user: User,
        session: AsyncSession,
        state: FSMContext,
        settings: Settings,
    ) -> None:
        """Its command: the draft under way again, else a new one from ``draft``."""
        context = await self.context(user, settings, session)
        if await self.resume(message, state, context):
            return
        draft = await self.draft(message, user, session, settings)
        if draft is not None:
            await self.begin(message, state, draft, context)

    async def begin(
        self,
        message: Message,
        state: FSMContext,
        draft: dict[str, Any],
        context: Hashable,
        *,
        edit: bool = False,
    ) -> None:
        """Start at ``draft["step"]`` (the first step shown, when it has none); ``edit``: in
        place of ``message`` (a message of ours with buttons, a menu), else below it."""
        if not draft.get("step"):
            answers = draft.setdefault("answers", {})
            draft["step"] = self.flow.first(answers, context).name
        await state.set_state(self.flow.state)
        if not edit:
            await self.ask(message, state, draft, context)
            return
        if message.bot is not None and draft.get("prompt") != message.message_id:
            await retire_buttons(message.bot, message.chat.id, draft.get("prompt"))
        await self.show(message, draft, context)
        draft = {**draft, "prompt": message.message_id}
        draft.pop("said", None)
        draft.pop("prompt_kind", None)
        await state.set_data(draft)

    async def resume(self, message: Message, state: FSMContext, context: Hashable) -> bool:
        """When this questionnaire is under way: say so, and ask its question again."""
        if await state.get_state() != self.flow.state_name:
            return False
        draft = await state.get_data()
        if not draft.get("step"):
            return False
        await message.answer(str(self.resumed))
        await self.ask(message, state, draft, context)
        return True

    async def is_current_question(self, query: CallbackQuery, state: FSMContext) -> bool:
        """The pressed message is this questionnaire's question being asked now."""
        if await state.get_state() != self.flow.state_name:
            return False
        draft = await state.get_data()
        return (
            isinstance(query.message, Message) and draft.get("prompt") == query.message.message_id
        )

    # --- answers ------------------------------------------------------------------------

    async def tapped(
        self,
        query: CallbackQuery,
        callback_data: CallbackData,
        user: User,
        session: AsyncSession,
        state: FSMContext,
        settings: Settings,
    ) -> None:
        draft = await state.get_data()
        context = await self.context(user, settings, session)
        name, value = callback_data.step, callback_data.value  # type: ignore[attr-defined]
        if not is_current_prompt(query, draft, name):
            if self._shows_a_step_taken(query, draft, name, value, context):
                with contextlib.suppress(TelegramBadRequest):  # a replayed tap has expired
                    await query.answer()
                await self.show(query.message, draft, context)
                return
            await query.answer(_("This button has expired."))
            return
        try:
            if value == TRIM:
                if not draft.get("kept"):
                    raise InvalidAnswer(value)
                progress = self.flow.trim(name, draft["kept"], draft["answers"], context)
            else:
                progress = await self.special(name, value, draft, user, session)
                progress = progress or self.flow.tap(name, value, draft["answers"], context)
        except InvalidAnswer:
            await query.answer(_("This button has expired."))
            return
        except Refused as refused:
            await query.answer(str(refused))
            return
        await query.answer()
        trimmed = value == TRIM or draft.get("prompt_kind") == "too_long"
        draft = {**draft, "answers": progress.answers}
        draft.pop("kept", None)
        assert isinstance(query.message, Message)
        if await self.answered(query.message, name, draft, user, session, state, {}):
            return
        if progress.step is None:
            await self.finish(query.message, user, session, state, draft, settings, edit=True)
            return
        draft["step"] = progress.step
        if trimmed:
            await self.ask(query.message, state, draft, context)
            return
        said = draft.pop("said", None)  # shown once, above this question
        await state.set_data(draft)
        await self.show(query.message, {**draft, "said": said}, context)

    async def typed(
        self,
        message: Message,
        user: User,
        session: AsyncSession,
        state: FSMContext,
        settings: Settings,
        bot: Bot,
        crisis_answered: bool = False,
        **data: Any,
    ) -> None:
        draft = await state.get_data()
        context = await self.context(user, settings, session)
        if draft.get("answered_by") == message.message_id:
            # This very message was taken already, and is handled again after a crash
            # (storage/inbox is at least once): its answer stays where it went, and the
            # question it led to is asked again, rather than taking it as that one's answer.
            await self.ask(message, state, draft, context)
            return
        name = draft["step"]
        step = self.flow.step(name)
        text = message.text or ""
        echo: str | None = None
        try:
            progress = self.flow.typed(name, text, draft["answers"], context)
            echo = escape(text.strip()) if step.kind is not Kind.TEXT else None
        except TooLong as too_long:
            await self._ask_shorter(message, state, draft, step, too_long, context)
            return
        except InvalidAnswer as wrong:
            value = self._button_named(step, text, context)
            if value is None:
                if not crisis_answered:  # after a crisis answer, a correction would be cold
                    await message.answer(self.hint(step, wrong))
                await self.ask(message, state, draft, context)
                return
            progress = self.flow.tap(name, value, draft["answers"], context)
            echo = escape(self.label(step, value, context))
        answers = progress.answers
        taken = {**draft, "answers": answers}
        taken.pop("kept", None)
        if await self.answered(message, name, taken, user, session, state, data):
            return
        if progress.step is None:
            await retire_buttons(bot, message.chat.id, draft.get("prompt"))
            await self.finish(message, user, session, state, taken, settings, edit=False)
            return
        if echo is not None and draft.get("prompt"):
            await self._echo(bot, message.chat.id, draft, context, echo)
            taken = {**taken, "prompt": None}
        next_step = {**taken, "step": progress.step, "answered_by": message.message_id}
        await self.ask(message, state, next_step, context)

    async def not_an_answer(
        self,
        message: Message,
        user: User,
        session: AsyncSession,
        state: FSMContext,
        settings: Settings,
        crisis_answered: bool = False,
    ) -> None:
        """A sticker, photo, voice message or file where a tap or text was expected."""
        if not crisis_answered:  # a captioned photo screening answered needs no correction
            await message.answer(str(self.unreadable))
        if not self.ask_after_unreadable:
            return
        context = await self.context(user, settings, session)
        await self.ask(message, state, await state.get_data(), context)

    # --- showing questions --------------------------------------------------------------

    async def ask(
        self, message: Message, state: FSMContext, draft: dict[str, Any], context: Hashable
    ) -> None:
        """Ask the current question in a new message, which becomes the one whose buttons
        count. The copy asked before (above a crisis answer, say) loses its buttons as the
        new one is sent: two live copies of one question, one of them "expired", confuse."""
        if message.bot is not None:
            await retire_buttons(message.bot, message.chat.id, draft.get("prompt"))
        text, markup = self.question(draft, context)
        sent = await message.answer(_said(draft) + text, reply_markup=markup)
        draft = {**draft, "prompt": sent.message_id}
        draft.pop("prompt_kind", None)
        draft.pop("said", None)
        await state.set_data(draft)

    async def show(self, message: Any, draft: dict[str, Any], context: Hashable) -> None:
        """The question, edited into the message that asked the one before."""
        text, markup = self.question(draft, context)
        text = _said(draft) + text
        try:
            await message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as error:
            if "not modified" not in error.message:
                raise

    def question(
        self, draft: dict[str, Any], context: Hashable
    ) -> tuple[str, InlineKeyboardMarkup]:
        name = draft["step"]
        answers = draft.get("answers") or {}
        step = self.flow.step(name)
        held = answers.get(name)
        number, total = self.flow.counter(name, answers, context)
        back = self.flow.back and self.flow.previous(name, answers, context) is not None
        moves = (back, step.skips(answers, context))
        extras = self.extras(draft, name)
        if step.kind is Kind.TEXT and held:  # a person's own words: never cached
            return _render.__wrapped__(self, name, "", held, number, total, moves, context, extras)
        if step.kind is Kind.SEVERAL:
            shown: Hashable = frozenset(held or ())
        else:
            shown = str(held) if held is not None and not isinstance(held, list) else None
        locale = get_i18n().current_locale
        return _render(self, name, locale, shown, number, total, moves, context, extras)

    def _layout(
        self,
        step: Step,
        held: Any,
        back: bool,
        context: Hashable,
        skip: bool | None = None,
    ) -> tuple[str, list[list[InlineKeyboardButton]]]:
        """The question's own text and rows: choices, then the moves (back, skip, done)."""
        text = step.asks(context)
        if step.kind is Kind.SCALE and step.low_label is not None:
            text += f"\n<i>{step.low} = {step.low_label} · {step.high} = {step.high_label}</i>"
        if step.kind is Kind.TEXT and held:
            text += "\n\n" + _("Now: {value}").format(value="<i>" + escape(held) + "</i>")
        picked = set(held) if isinstance(held, frozenset) else {held}
        choices = [
            button(
                ("✓ " if value in picked else "") + self.label(step, value, context),
                self.answer(step=step.name, value=value),  # type: ignore[call-arg]
            )
            for value in step.options(context)
        ]
        layout = [list(row) for row in rows(choices, *step.widths).inline_keyboard]
        skip = bool(step.skip) if skip is None else skip
        skip_label = str(step.skip_label) if step.skip_label is not None else _("Skip ▸")
        moves = []
        if back:
            moves.append(button(_("◂ Back"), self.answer(step=step.name, value=BACK)))  # type: ignore[call-arg]
        if step.kind is Kind.SEVERAL:
            label = skip_label if skip and not held else _("Done ▸")
            moves.append(button(label, self.answer(step=step.name, value=DONE)))  # type: ignore[call-arg]
        elif skip:
            label = _("Keep ▸") if held else skip_label
            moves.append(button(label, self.answer(step=step.name, value=SKIP)))  # type: ignore[call-arg]
        if moves:
            layout.append(moves)
        return text, layout

    async def _ask_shorter(
        self,
        message: Message,
        state: FSMContext,
        draft: dict[str, Any],
        step: Step,
        too_long: TooLong,
        context: Hashable = None,
    ) -> None:
        """A text over its limit: kept for them, to trim, shorten or skip (where the step
        may be skipped). This message's buttons are the ones that count now; the
        question's are taken off."""
        if message.bot is not None:
            await retire_buttons(message.bot, message.chat.id, draft.get("prompt"))
        said = step.too_long or TOO_LONG
        skip = step.too_long_skip or step.skip_label or __("Skip ▸")
        buttons = [
            button(
                _("Keep the first {limit}").format(limit=too_long.limit),
                self.answer(step=step.name, value=TRIM),  # type: ignore[call-arg]
            )
        ]
        if step.skips(draft.get("answers") or {}, context):
            buttons.append(button(str(skip), self.answer(step=step.name, value=SKIP)))  # type: ignore[call-arg]
        buttons.append(button(_("✕ Cancel"), CancelFlow()))
        sent = await message.answer(
            str(said).format(length=too_long.length, limit=too_long.limit),
            reply_markup=rows(buttons, 1),
        )
        await state.set_data(
            {**draft, "kept": message.text, "prompt": sent.message_id, "prompt_kind": "too_long"}
        )

    async def _echo(
        self, bot: Bot, chat_id: int, draft: dict[str, Any], context: Hashable, echo: str
    ) -> None:
        """The question answered by typing keeps its text and shows the answer taken, in
        place of its buttons."""
        if draft.get("prompt_kind") == "too_long":
            await retire_buttons(bot, chat_id, draft.get("prompt"))
            return
        text, _markup = self.question(draft, context)
        with contextlib.suppress(TelegramBadRequest):  # gone, or too old to edit
            await bot.edit_message_text(
                chat_id=chat_id,
                message_id=draft["prompt"],
                text=f"{text}\n\n✓ <b>{echo}</b>",
                reply_markup=None,
            )

    def _button_named(self, step: Step, text: str, context: Hashable) -> str | None:
        """A typed text naming one of a single choice's buttons (its label or its value)."""
        if step.kind not in (Kind.ONE, Kind.NUMBER, Kind.TIME, Kind.DATE):
            return None
        typed = text.strip().casefold()
        for value in step.options(context):
            if typed in (value.casefold(), self.label(step, value, context).casefold()):
                return value
        return None

    def _shows_a_step_taken(
        self, query: CallbackQuery, draft: dict[str, Any], name: str, value: str, context: Any
    ) -> bool:
        """The pressed message is the question being asked, but it still shows a step already
        answered, and the tap gives that same answer: it was stored, and the edit showing the
        next question never arrived (the process died while it hung). The tap is that one
        handled again, or pressed again on the question left behind."""
        message = query.message
        return (
            isinstance(message, Message)
            and draft.get("prompt") == message.message_id
            and is_on(message, query.data)
            and self.flow.repeats_a_taken_answer(
                name, value, draft.get("step"), draft.get("answers", {}), context
            )
        )


@lru_cache(maxsize=4096)
def _render(
    conversation: Conversation,
    name: str,
    locale: str,
    held: Any,
    number: int,
    total: int,
    moves: tuple[bool, bool],
    context: Hashable,
    extras: tuple[Hashable, ...],
) -> tuple[str, InlineKeyboardMarkup]:
    """A question's text and buttons. The same for everyone at the same point, so built once
    per language: building pydantic buttons costs more than the database work of a tap."""
    step = conversation.flow.step(name)
    back, skip = moves
    header = conversation.heading(name, number, total, context)
    text, layout = conversation._layout(step, held, back, context, skip)
    text = conversation.decorate(extras, name, text, layout)
    layout.append([button(_("✕ Cancel"), CancelFlow())])
    return f"{header}\n\n{text}", InlineKeyboardMarkup(inline_keyboard=layout)


def _said(draft: dict[str, Any]) -> str:
    """A word above the question (``answered`` put it there: "✓ Saved", say)."""
    said = draft.get("said")
    return said + "\n\n" if said else ""


# --- wiring questionnaires that bring their command -------------------------------------


def router() -> Router:
    """Every registered questionnaire that names its command: the command, for its roles,
    and its steps. (Questionnaires without one are wired by their own module.)"""
    r = Router(name="questionnaires")
    r.message.filter(PRIVATE)
    for conversation in REGISTRY.values():
        if conversation.command is None:
            continue
        roles = HasRole(*conversation.command.roles)
        r.message.register(conversation.start, Command(conversation.command.name), roles)
        conversation.register(r, roles)
    return r


def check_wired(routers: Iterable[Router]) -> None:
    """Refuse to go on when a registered questionnaire is on none of these routers: its
    buttons would be dead, and it would say nothing about it."""
    routers = list(routers)
    forgotten = sorted(c.flow.name for c in REGISTRY.values() if not c.wired_on(routers))
    if forgotten:
        raise RuntimeError(
            f"questionnaires no router answers: {', '.join(forgotten)} "
            "(give the Conversation a command, or register it on its module's router)"
        )


def _with_included(routers: Iterable[Router]) -> Iterator[Router]:
    for router in routers:
        yield router
        yield from _with_included(router.sub_routers)


def is_on(message: Message, data: str | None) -> bool:
    """The message, as Telegram showed it when pressed, carries a button with ``data`` (a
    forged or replayed press names data it does not)."""
    markup = message.reply_markup
    return markup is not None and any(
        button.callback_data == data for row in markup.inline_keyboard for button in row
    )
