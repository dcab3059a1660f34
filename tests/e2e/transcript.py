"""A readable transcript of an end-to-end test: what people sent and what the bot answered,
in order, as a person would read it. Written when PEERBOT_TRANSCRIPTS names a folder, so
the people who build a flow can read it as its users would (see README, "Reading the
conversations")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.standin import Call, TelegramStandIn

SHOWN = {
    "sendMessage": "says",
    "editMessageText": "edits to",
    "sendPhoto": "sends a picture",
    "sendDocument": "sends a file",
    "answerCallbackQuery": "toast",
    "copyMessage": "forwards a copy",
    "deleteMessage": "deletes a message",
    "editMessageReplyMarkup": "changes buttons",
    "pinChatMessage": "pins a message",
}


def write(standin: TelegramStandIn, folder: Path, name: str) -> Path:
    lines = [line for _at, line in sorted(_incoming(standin) + _outgoing(standin))]
    path = folder / f"{_safe(name)}.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _incoming(standin: TelegramStandIn) -> list[tuple[float, str]]:
    found = []
    for at, update in standin.queued:
        if "message" in update or "edited_message" in update:
            message = update.get("message") or update["edited_message"]
            who = message.get("from", {}).get("first_name", "?")
            where = _where(message.get("chat", {}))
            body = message.get("text") or message.get("caption") or _kind_of(message)
            edited = " (edited)" if "edited_message" in update else ""
            found.append((at, f"\n>> {who}{where}{edited}: {body}"))
        elif "callback_query" in update:
            query = update["callback_query"]
            who = query.get("from", {}).get("first_name", "?")
            found.append((at, f"\n>> {who} taps [{_label(query)}]"))
        else:
            kind = next(key for key in update if key != "update_id")
            found.append((at, f"\n>> ({kind})"))
    return found


def _outgoing(standin: TelegramStandIn) -> list[tuple[float, str]]:
    found = []
    for call in standin.calls:
        verb = SHOWN.get(call.method)
        if verb is None:
            continue
        found.append((call.at, _render(call, verb)))
    return found


def _render(call: Call, verb: str) -> str:
    params = call.params
    chat = params.get("chat_id", "")
    text = params.get("text") or params.get("caption") or ""
    head = f"<< bot {verb} (chat {chat})" if chat != "" else f"<< bot {verb}"
    if not call.ok:
        head += f" -> FAILED {call.status}"
    buttons = _buttons(params.get("reply_markup"))
    return "\n".join(part for part in (head, _indent(str(text)), buttons) if part)


def _buttons(markup: Any) -> str:
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            return ""
    rows = (markup or {}).get("inline_keyboard") or (markup or {}).get("keyboard") or []
    shown = [" ".join(f"[{_text(b)}]" for b in row) for row in rows]
    return _indent("\n".join(shown)) if shown else ""


def _text(button: Any) -> str:
    return button.get("text", "") if isinstance(button, dict) else str(button)


def _label(query: dict[str, Any]) -> str:
    data = query.get("data", "")
    markup = (query.get("message") or {}).get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if button.get("callback_data") == data:
                return button.get("text", data)
    return data


def _where(chat: dict[str, Any]) -> str:
    return f" in {chat.get('title', chat.get('id'))}" if chat.get("type") != "private" else ""


def _kind_of(message: dict[str, Any]) -> str:
    for kind in ("sticker", "photo", "voice", "document", "video", "location"):
        if kind in message:
            return f"({kind})"
    return "(no text)"


def _indent(text: str) -> str:
    return "\n".join(f"   {line}" for line in text.splitlines())


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:150]
