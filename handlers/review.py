"""The supervisors' review queue (/review): session notes flagged with a concern, and
boundary flags from the relay, one card at a time, marked reviewed with a comment.

Every press re-checks the presser's role and that the item still waits: of two
supervisors marking one item, one wins and the other is told who did.
"""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows.states import Reviewing
from handlers.filters import NOT_TEXT, PRIVATE, TYPED, HasRole
from handlers.keyboards import button, retire_buttons, rows
from handlers.menu import STAFF
from handlers.notes import topics_text
from storage import notes, reviews, users
from storage.models import ReviewItem, User, utcnow

log = logging.getLogger(__name__)


class ReviewAction(CallbackData, prefix="rv"):
    action: str  # "mark" | "next" | "nocomment"
    item_id: int


def router() -> Router:
    r = Router(name="review")
    r.message.filter(PRIVATE)
    staff = HasRole(*STAFF)
    r.message.register(show_review, Command("review"), staff)
    r.callback_query.register(review_pressed, ReviewAction.filter())  # role checked inside
    commenting = StateFilter(Reviewing.comment)
    r.message.register(comment_typed, commenting, staff, TYPED)
    r.message.register(comment_not_text, commenting, staff, NOT_TEXT)
    return r


async def show_review(message: Message, session: AsyncSession, state: FSMContext) -> None:
    if await state.get_state() == Reviewing.comment.state:
        await state.clear()  # a comment half-written for an item shown earlier is dropped
    waiting = await reviews.waiting(session, limit=1)
    if not waiting:
        await message.answer(_("Nothing waiting for review."))
        return
    text, markup = await _card(session, waiting[0])
    await message.answer(text, reply_markup=markup)


async def review_pressed(
    query: CallbackQuery,
    callback_data: ReviewAction,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
) -> None:
    if user is None or not user.is_onboarded or user.role not in STAFF:
        await query.answer(_("Only supervisors and admins can review notes and flags."))
        return
    in_range = 0 < callback_data.item_id < 2**31  # a forged id must not reach an INTEGER column
    item = await reviews.get(session, callback_data.item_id) if in_range else None
    message = query.message if isinstance(query.message, Message) else None
    if item is None or message is None:
        await query.answer(_("This button has expired."))
        return
    if callback_data.action == "next":
        await _show_next(query, message, session, item)
    elif item.reviewed_at is not None:
        await query.answer()
        if (await state.get_data()).get("item_id") == item.id:
            await state.clear()  # their comment has nothing left to go to
        await message.answer(await _already_reviewed(session, item))
    elif callback_data.action == "mark":
        await query.answer()
        await _ask_comment(message, state, item, settings)
    elif callback_data.action == "nocomment" and await _is_comment_prompt(state, message, item):
        await query.answer()
        await retire_buttons(query.bot, message.chat.id, message.message_id)
        await _mark(message, user, session, state, item, comment=None)
    else:
        await query.answer(_("This button has expired."))


async def _show_next(
    query: CallbackQuery, message: Message, session: AsyncSession, item: ReviewItem
) -> None:
    waiting = await reviews.waiting(session, limit=500)
    later = [w for w in waiting if (w.created_at, w.id) > (item.created_at, item.id)]
    following = later[0] if later else (waiting[0] if waiting else None)
    if following is None:
        await query.answer(_("Nothing waiting for review."))
        return
    if following.id == item.id:
        await query.answer(_("This is the only one waiting."))
        return
    await query.answer()
    text, markup = await _card(session, following)
    await message.edit_text(text, reply_markup=markup)


async def _ask_comment(
    message: Message, state: FSMContext, item: ReviewItem, settings: Settings
) -> None:
    sent = await message.answer(
        _("Add a comment for the record? Type it (up to {limit} characters), or skip.").format(
            limit=settings.note_max_length
        ),
        reply_markup=rows(
            [button(_("Skip ▸"), ReviewAction(action="nocomment", item_id=item.id))], 1
        ),
    )
    await state.set_state(Reviewing.comment)
    await state.set_data({"item_id": item.id, "prompt": sent.message_id})


async def _is_comment_prompt(state: FSMContext, message: Message, item: ReviewItem) -> bool:
    data = await state.get_data()
    return (
        await state.get_state() == Reviewing.comment.state
        and data.get("item_id") == item.id
        and data.get("prompt") == message.message_id
    )


async def comment_typed(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
) -> None:
    data = await state.get_data()
    comment = (message.text or "").strip()
    if len(comment) > settings.note_max_length:
        await message.answer(
            _(
                "That comment is {length} characters long; comments can be up to {limit}. "
                "Please send a shorter one, or skip."
            ).format(length=len(comment), limit=settings.note_max_length)
        )
        return
    item = await reviews.get(session, int(data.get("item_id", 0)))
    await retire_buttons(bot, message.chat.id, data.get("prompt"))
    if item is None:
        await state.clear()
        await message.answer(_("That item is no longer in the queue. /review shows what waits."))
        return
    await _mark(message, user, session, state, item, comment=comment or None)


async def comment_not_text(message: Message) -> None:
    await message.answer(_("I can only take a typed comment here, or tap Skip."))


async def _mark(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    item: ReviewItem,
    *,
    comment: str | None,
) -> None:
    await state.clear()
    marked = await reviews.mark_reviewed(
        session, item.id, by=user.telegram_id, comment=comment, at=utcnow()
    )
    if not marked:  # another supervisor was quicker
        await session.refresh(item)
        await message.answer(await _already_reviewed(session, item))
        return
    left = await reviews.count_waiting(session)
    done = _("✓ Marked reviewed.")
    if left:
        more = _("{count} more waiting: /review").format(count=left)
    else:
        more = _("Nothing else is waiting.")
    await message.answer(f"{done} {more}")


async def _already_reviewed(session: AsyncSession, item: ReviewItem) -> str:
    by = await users.get_by_telegram_id(session, item.reviewed_by) if item.reviewed_by else None
    at = item.reviewed_at or utcnow()
    return _("{name} already reviewed this on {time} UTC, so nothing more is needed.").format(
        name=escape(by.known_as) if by else _("Someone"), time=f"{at:%Y-%m-%d %H:%M}"
    )


async def _card(session: AsyncSession, item: ReviewItem) -> tuple[str, InlineKeyboardMarkup]:
    """One review item as a supervisor reads it, with its buttons."""
    waiting = await reviews.count_waiting(session)
    lines = [
        _("{count} waiting for review").format(count=waiting),
        "",
        (
            _("📝 <b>Session note with a concern</b>")
            if item.kind == reviews.NOTE
            else _("🚧 <b>Possible boundary issue</b>")
        ),
        _("Flagged: {time} UTC").format(time=f"{item.created_at:%Y-%m-%d %H:%M}"),
        _("Mentor: {who}").format(who=await _who(session, item.mentor_id)),
        _("Mentee: {who}").format(who=await _who(session, item.mentee_id)),
    ]
    lines += await _note_lines(session, item) if item.kind == reviews.NOTE else []
    if item.detail:
        lines.append(_("Message: {text}").format(text=f"<i>“{escape(item.detail)}”</i>"))
    elif item.kind == reviews.BOUNDARY:  # flagged without words: a contact card
        lines.append(_("Message: a shared contact card"))
    buttons = [button(_("✓ Mark reviewed"), ReviewAction(action="mark", item_id=item.id))]
    if waiting > 1:
        buttons.append(button(_("Next ▸"), ReviewAction(action="next", item_id=item.id)))
    return "\n".join(lines), rows(buttons, 2)


async def _note_lines(session: AsyncSession, item: ReviewItem) -> list[str]:
    note = await notes.get(session, item.note_id) if item.note_id else None
    if note is None:
        return []
    return [
        _("Session: {date} · {minutes} min").format(
            date=note.session_date.isoformat(), minutes=note.minutes
        ),
        _("Topics: {topics}").format(topics=topics_text(note.topics)),
        _("Progress: {text}").format(text=escape(note.progress) if note.progress else "—"),
        _("Concern: {text}").format(
            text=escape(note.concern_text) if note.concern_text else _("flagged, no words given")
        ),
    ]


async def _who(session: AsyncSession, user_id: int | None) -> str:
    person = await session.get(User, user_id) if user_id else None
    if person is None:
        return "—"
    if person.display_name:
        return f"{escape(person.pseudonym)} ({escape(person.display_name)})"
    return escape(person.pseudonym)
