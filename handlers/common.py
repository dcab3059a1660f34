"""Commands every person has: /help, /cancel, /privacy (export and delete)."""

from __future__ import annotations

import json

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import texts
from handlers.filters import PRIVATE
from handlers.keyboards import CancelFlow, button, rows
from handlers.menu import command_named, commands_for, role_bound
from storage import users
from storage.models import User


class PrivacyAction(CallbackData, prefix="privacy"):
    action: str  # "export" | "delete" | "delete_confirmed" | "keep"


def router() -> Router:
    r = Router(name="common")
    r.message.filter(PRIVATE)
    r.message.register(show_help, Command("help"))
    r.message.register(cancel, Command("cancel"))
    r.callback_query.register(cancel_tapped, CancelFlow.filter())
    r.message.register(show_privacy, Command("privacy"))
    r.callback_query.register(privacy_action, PrivacyAction.filter())
    r.message.register(needs_onboarding_or_role, Command(*role_bound()))
    return r


async def show_help(message: Message, user: User | None) -> None:
    if user is None or not user.is_onboarded:
        await message.answer(texts.about() + "\n\n" + texts.not_onboarded())
        return
    lines = [
        _("You are a {role} in the program. Here is what you can do:").format(
            role=texts.role_name(user.role)
        ),
        "",
    ]
    lines += [f"/{command.name} — {command.description}" for command in commands_for(user.role)]
    await message.answer("\n".join(lines))


async def cancel(
    message: Message, state: FSMContext, user: User | None, session: AsyncSession
) -> None:
    if await state.get_state() is None:
        await message.answer(_("There's nothing to cancel. /help lists what you can do."))
        return
    await _stop(state, user, session)
    await message.answer(
        _("Stopped. Nothing from that step was saved. /help lists what you can do.")
    )


async def cancel_tapped(
    query: CallbackQuery, state: FSMContext, user: User | None, session: AsyncSession
) -> None:
    prompt = (await state.get_data()).get("prompt")
    message = query.message if isinstance(query.message, Message) else None
    running = await state.get_state() is not None
    if message is None or not running or prompt != message.message_id:
        # Only the Cancel of the question asked now ends the flow that is running now.
        await query.answer(_("This button has expired."))
        return
    await _stop(state, user, session)
    await query.answer()
    await message.edit_text(
        _("Stopped. Nothing from that step was saved. /help lists what you can do.")
    )


async def _stop(state: FSMContext, user: User | None, session: AsyncSession) -> None:
    await state.clear()
    if user is not None and user.consent_version is None and not user.is_onboarded:
        await users.erase(session, user)  # stopped before consent: keep nothing of theirs


async def show_privacy(message: Message, user: User | None) -> None:
    if user is None:
        await message.answer(_("I don't hold anything about you."))
        return
    await message.answer(
        texts.consent(user.role).rsplit("\n\n", 1)[0],
        reply_markup=rows(
            [
                button(_("Export my data"), PrivacyAction(action="export")),
                button(_("Delete my data"), PrivacyAction(action="delete")),
            ],
            1,
        ),
    )


async def privacy_action(
    query: CallbackQuery,
    callback_data: PrivacyAction,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    if user is None or not isinstance(query.message, Message):
        await query.answer(_("This button has expired."))
        return
    asked = (await state.get_data()).get("confirm_delete")
    if callback_data.action == "delete_confirmed" and asked != query.message.message_id:
        await query.answer(_("This button has expired."))  # the question was never asked here
        return
    await query.answer()
    if callback_data.action == "export":
        data = json.dumps(await users.export(session, user), ensure_ascii=False, indent=2)
        await query.message.answer_document(
            BufferedInputFile(data.encode(), filename="peerbot-my-data.json"),
            caption=_("Everything I hold about you, as a file you can keep."),
        )
    elif callback_data.action == "delete":
        question = await query.message.answer(
            _(
                "This deletes your profile, your logs and everything else I hold about you, for good. Are you sure?"
            ),
            reply_markup=rows(
                [
                    button(_("Yes, delete everything"), PrivacyAction(action="delete_confirmed")),
                    button(_("No, keep it"), PrivacyAction(action="keep")),
                ],
                1,
            ),
        )
        await state.update_data(confirm_delete=question.message_id)
    elif callback_data.action == "delete_confirmed":
        await state.clear()
        await users.erase(session, user)
        await query.message.edit_text(
            _(
                "Done. Everything I held about you has been deleted. If you ever want to come back, send /start."
            )
        )
    else:
        await query.message.edit_text(_("Nothing was deleted."))


async def needs_onboarding_or_role(
    message: Message, user: User | None, command: CommandObject
) -> None:
    """A command the person cannot use (yet): say why and whose it is, instead of silence."""
    known = command_named(command.command.lower())
    if user is None or not user.is_onboarded:
        await message.answer(texts.not_onboarded())
    elif known is not None and user.role not in known.roles:
        await message.answer(texts.only_for(known.roles))
    else:
        await message.answer(texts.not_for_role())
