"""A local stand-in for the Telegram Bot API, for end-to-end tests.

The real bot process talks to it over HTTP on 127.0.0.1 with aiogram's own AiohttpSession,
so everything between the bot's handlers and the wire is exercised. The test drives it from
the other side: it plays users (queues updates the bot long-polls for), reads what the bot
sent, presses buttons, and injects failures and rate limits.

    async with TelegramStandIn() as standin:
        ana = standin.user(1001, "Ana", "es")
        await standin.send_text(ana, "/start")
        reply = await standin.next_reply(ana.id)
        await standin.tap(ana, reply, "Yes")

Answers are shaped like the real Bot API's so aiogram's pydantic models validate them. Only
the methods the bot uses are implemented; anything else answers 404 like Telegram does.
Chats the test never declared are created on first use (private for positive ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html.entities
import inspect
import itertools
import json
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

BOT_USERNAME = "peerbot_test_bot"
BOT_FIRST_NAME = "peerbot"

MAX_TEXT_LENGTH = 4096  # UTF-16 code units, after entity parsing
MAX_CALLBACK_DATA_BYTES = 64
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
DEFAULT_ERRORS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_LEADING_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
_BOT_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_INTEGER = re.compile(r"-?\d+")

# Methods whose target chat can have blocked the bot, and those that count against rate limits.
_BLOCKABLE_METHODS = frozenset({"sendmessage", "copymessage", "senddocument", "sendchataction"})
_RATE_LIMITED_METHODS = frozenset({"sendmessage", "copymessage", "senddocument"})
_REPLY_METHODS = frozenset({"sendmessage", "editmessagetext"})
# Update types Telegram delivers when allowed_updates is unset or empty.
_NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


# --- What the test reads back -------------------------------------------------------------


@dataclass
class Call:
    """One Bot API request as the stand-in received it, with how it was answered."""

    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() on arrival
    status: int = 200
    result: Any = None  # a snapshot of the answered result, when ok
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    def __str__(self) -> str:
        shown = {key: value for key, value in self.params.items() if key != "reply_markup"}
        outcome = "ok" if self.ok else f"{self.status} {self.error}"
        return f"{self.method} {shown} -> {outcome}"


@dataclass(frozen=True)
class Reply:
    """A message the bot sent or edited, as a user would see it at that moment."""

    call: Call

    @property
    def method(self) -> str:
        return self.call.method

    @property
    def message(self) -> dict[str, Any]:
        return self.call.result

    @property
    def text(self) -> str:
        return self.message.get("text", self.message.get("caption", ""))

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Rows of (text, callback_data or url); reply-keyboard buttons carry None."""
        if inline := self.message.get("reply_markup"):
            return [
                [
                    (button["text"], button.get("callback_data") or button.get("url"))
                    for button in row
                ]
                for row in inline["inline_keyboard"]
            ]
        keyboard = self.call.params.get("reply_markup") or {}
        return [
            [(_button_text(button), None) for button in row] for row in keyboard.get("keyboard", [])
        ]

    def button(self, text_substring: str) -> str:
        """The callback_data of the first button whose text contains `text_substring`."""
        wanted = text_substring.casefold()
        for row in self.buttons:
            for text, data in row:
                if wanted in text.casefold() and data is not None:
                    return data
        raise AssertionError(f"no button containing {text_substring!r} in {self.buttons!r}")


def _button_text(button: str | dict[str, Any]) -> str:
    return button if isinstance(button, str) else button["text"]


# --- The users the test plays -------------------------------------------------------------


@dataclass(frozen=True)
class TgUser:
    id: int
    first_name: str = "Ana"
    language_code: str | None = "es"
    username: str | None = None
    last_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return _without_none(
            id=self.id,
            is_bot=False,
            first_name=self.first_name,
            last_name=self.last_name,
            username=self.username,
            language_code=self.language_code,
        )

    def private_chat(self) -> TgChat:
        return TgChat(self.id, "private", first_name=self.first_name, username=self.username)


@dataclass(frozen=True)
class TgChat:
    id: int
    type: str  # private, group, supergroup
    title: str | None = None
    is_forum: bool = False
    first_name: str | None = None
    username: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return _without_none(
            id=self.id,
            type=self.type,
            title=self.title,
            first_name=self.first_name,
            username=self.username,
            is_forum=self.is_forum or None,
        )


# --- Errors, faults and limits ------------------------------------------------------------


class ApiError(Exception):
    """An error answer: HTTP status plus the Bot API's error body."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        html: bool = False,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.html = html  # answered as Telegram's front end does: an HTML page, not JSON

    def response(self) -> web.Response:
        if self.html:
            page = (
                f"<html>\r\n<head><title>{self.status} {self.description}</title></head>\r\n"
                f"<body>\r\n<center><h1>{self.status} {self.description}</h1></center>\r\n"
                "<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
            )
            return web.Response(text=page, status=self.status, content_type="text/html")
        return web.json_response(self.body(), status=self.status)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class _CallerGone(Exception):
    """The caller of a hung request went away before it was answered."""


@dataclass
class _TimedHang:
    """Calls of `method` (to `chat_id`, if given) are held unanswered until `until`."""

    method: str  # lower case
    chat_id: int | None
    until: float

    def matches(self, method: str, chat_id: int | None) -> bool:
        return (
            self.method == method
            and (self.chat_id is None or self.chat_id == chat_id)
            and time.monotonic() < self.until
        )


def _bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass
class _Fault:
    """An injected failure: for the next `times` matching calls, or every one until `until`."""

    method: str  # lower case
    status: int
    description: str | None
    retry_after: int | None
    chat_id: int | None
    times: int | None = None
    until: float | None = None
    html: bool = False

    def matches(self, method: str, chat_id: int | None, now: float) -> bool:
        if self.method != method or (self.chat_id is not None and self.chat_id != chat_id):
            return False
        return self.until is None or now < self.until

    def spent(self, now: float) -> bool:
        if self.times is not None:
            return self.times <= 0
        return self.until is not None and now >= self.until

    def error(self) -> ApiError:
        retry_after = self.retry_after
        if self.status == 429 and retry_after is None:
            retry_after = 1  # aiogram only raises TelegramRetryAfter when one is given
        template = self.description or DEFAULT_ERRORS.get(self.status, "Injected failure")
        return ApiError(
            self.status,
            template.format(retry_after=retry_after),
            retry_after=retry_after,
            html=self.html,
        )


@dataclass
class _Hang:
    """The next `times` calls of `method` (to `chat_id`) get no answer until released."""

    method: str  # lower case
    chat_id: int | None
    times: int

    def takes(self, method: str, chat_id: int | None) -> bool:
        if self.times <= 0 or self.method != method:
            return False
        if self.chat_id is not None and self.chat_id != chat_id:
            return False
        self.times -= 1
        return True


class _RateLimits:
    """Sliding windows like Telegram's broadcast limits: one second overall and per chat,
    and one minute per group (negative chat ids)."""

    def __init__(
        self, per_second: int, per_chat_per_second: int, per_group_per_minute: int | None
    ) -> None:
        self.per_second = per_second
        self.per_chat_per_second = per_chat_per_second
        self.per_group_per_minute = per_group_per_minute
        self._everywhere: deque[float] = deque()
        self._per_chat: defaultdict[int | None, deque[float]] = defaultdict(deque)
        self._per_group: defaultdict[int | None, deque[float]] = defaultdict(deque)

    def retry_after(self, chat_id: int | None, now: float) -> int | None:
        """Seconds to wait before sending to this chat would be allowed, or None if allowed."""
        windows = [
            (self._everywhere, self.per_second, 1.0),
            (self._per_chat[chat_id], self.per_chat_per_second, 1.0),
        ]
        if self.per_group_per_minute is not None and (chat_id or 0) < 0:
            windows.append((self._per_group[chat_id], self.per_group_per_minute, 60.0))
        waits = []
        for window, limit, seconds in windows:
            _forget_older_than(window, now - seconds)
            if len(window) >= limit:
                waits.append(window[0] + seconds - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def record(self, chat_id: int | None, now: float) -> None:
        self._everywhere.append(now)
        self._per_chat[chat_id].append(now)
        if (chat_id or 0) < 0:
            self._per_group[chat_id].append(now)


def _forget_older_than(window: deque[float], cutoff: float) -> None:
    while window and window[0] <= cutoff:
        window.popleft()


# --- Reading requests ---------------------------------------------------------------------

# Fields that are free text: never decoded even if they look like numbers or JSON.
_TEXT_FIELDS = frozenset(
    {
        "text",
        "caption",
        "title",
        "name",
        "description",
        "short_description",
        "query",
        "url",
        "secret_token",
        "callback_query_id",
        "parse_mode",
        "language_code",
        "action",
        "emoji",
    }
)


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string plus body (JSON, urlencoded or multipart), with JSON-encoded fields decoded."""
    raw: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            raw.update(await request.json())
        else:
            form = await request.post()
            raw.update({key: _uploaded(value) for key, value in form.items()})
    return {key: _decode_field(key, value) for key, value in raw.items()}


def _uploaded(value: Any) -> Any:
    if isinstance(value, web.FileField):
        content = value.file.read()
        return {
            "filename": value.filename,
            "content_type": value.content_type,
            "size": len(content),
            "content": content,  # what the person would download (an export, say)
        }
    return value


def _image_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG (from its header); anything else Telegram would refuse
    here is refused (the bot sends only PNG charts)."""
    if content[:8] != b"\x89PNG\r\n\x1a\n" or len(content) < 24:
        raise _bad_request("IMAGE_PROCESS_FAILED")
    return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")


def _decode_field(key: str, value: Any) -> Any:
    """aiogram sends every field as a string; nested objects are JSON-encoded strings."""
    if not isinstance(value, str) or key in _TEXT_FIELDS:
        return value
    if _INTEGER.fullmatch(value):
        return int(value)
    if value in ("true", "false") or value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _as_chat_id(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    return None


# --- Formatting: Bot API HTML to text + entities ------------------------------------------

_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _TelegramHtml(HTMLParser):
    """Parses parse_mode=HTML the way Telegram does, rejecting what Telegram rejects."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.pieces: list[str] = []
        self.entities: list[dict[str, Any]] = []
        self._length = 0  # in UTF-16 code units, as entity offsets are
        self._open: list[tuple[str, dict[str, str | None], int]] = []

    def render(self, source: str) -> tuple[str, list[dict[str, Any]]]:
        self.feed(source)
        self.close()
        if self._open:
            raise ValueError(
                f'Can\'t find end tag corresponding to start tag "{self._open[-1][0]}"'
            )
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.pieces), self.entities

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in _HTML_ENTITY_TYPES or (
            tag == "span" and attributes.get("class") != "tg-spoiler"
        ):
            raise ValueError(f'Unsupported start tag "{tag}"')
        self._open.append((tag, attributes, self._length))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            raise ValueError(f'Unmatched end tag "{tag}"')
        tag, attributes, start = self._open.pop()
        if self._length > start:
            self.entities.append(_html_entity(tag, attributes, start, self._length - start))

    def handle_data(self, data: str) -> None:
        if "<" in data:
            raise ValueError("Unexpected '<': escape it as &lt;")
        self._append(data)

    def handle_entityref(self, name: str) -> None:
        known = html.entities.name2codepoint.get(name)
        self._append(chr(known) if known else f"&{name}")

    def handle_charref(self, name: str) -> None:
        self._append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))

    def _append(self, text: str) -> None:
        self.pieces.append(text)
        self._length += _utf16_length(text)


def _html_entity(
    tag: str, attributes: dict[str, str | None], offset: int, length: int
) -> dict[str, Any]:
    entity: dict[str, Any] = {"type": _HTML_ENTITY_TYPES[tag], "offset": offset, "length": length}
    if tag == "a":
        entity["url"] = attributes.get("href") or ""
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
    elif tag == "blockquote" and "expandable" in attributes:
        entity["type"] = "expandable_blockquote"
    return entity


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _render_text(params: dict[str, Any], key: str = "text") -> tuple[str, list[dict] | None]:
    """The text a user sees plus its entities; only HTML is parsed (Markdown stays as sent)."""
    source = params.get(key)
    if not isinstance(source, str) or not source.strip():
        raise _bad_request("message text is empty")
    text, entities = source, params.get("entities")
    if str(params.get("parse_mode", "")).lower() == "html":
        try:
            text, entities = _TelegramHtml().render(source)
        except ValueError as error:
            raise _bad_request(f"can't parse entities: {error}") from None
    if not text.strip():
        raise _bad_request("message text is empty")
    if _utf16_length(text) > MAX_TEXT_LENGTH:
        raise _bad_request("message is too long")
    return text, entities or None


# --- Keyboards ----------------------------------------------------------------------------

_INLINE_BUTTON_ACTIONS = frozenset(
    {
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    """The inline keyboard a message carries; reply keyboards are not part of the message."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    for row in markup["inline_keyboard"]:
        for button in row:
            if not _INLINE_BUTTON_ACTIONS & button.keys():
                raise _bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")
    return markup if markup["inline_keyboard"] else None


# --- The stand-in -------------------------------------------------------------------------


class TelegramStandIn:
    """The fake Bot API server plus the test-side API to drive it. Use with `async with`."""

    def __init__(self) -> None:
        self.base_url = ""
        self.calls: list[Call] = []
        self.queued: list[tuple[float, dict[str, Any]]] = []  # every update sent, for transcripts
        self.offsets: list[int] = []  # every getUpdates offset seen, in order
        self.blocked_chats: set[int] = set()
        self.rate_limited = 0
        self.invite_links = 0  # createChatInviteLink calls answered
        self.webhook: dict[str, Any] | None = None  # setWebhook's params while one is set
        self.topics: dict[tuple[int, int], dict[str, Any]] = {}  # (chat, thread) -> topic
        self.bot_user: dict[str, Any] | None = None

        self._updates: list[dict[str, Any]] = []  # not yet confirmed by an offset
        self._allowed_updates: list[str] = []
        self._chats: dict[int, dict[str, Any]] = {}
        self._messages: defaultdict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        self._last_message_id: defaultdict[int, int] = defaultdict(int)
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._open_callbacks: set[str] = set()
        self._faults: list[_Fault] = []
        self._hangs: list[_Hang] = []
        self._timed_hangs: list[_TimedHang] = []
        self._released = asyncio.Event()  # hung requests end (and were not carried out)
        self.hung = 0  # requests that were held by `hang_for`
        self._limits: _RateLimits | None = None
        self._reply_cursors: dict[int, int] = {}
        self._update_ids = itertools.count(10_001)
        self._callback_ids = itertools.count(4_200_000_000_000_001)
        self._file_numbers = itertools.count(1)
        self._poll_generation = 0
        self._closing = False
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "getMyCommands": self._get_my_commands,
                "setMyDescription": _accept,
                "setMyShortDescription": _accept,
                "setChatMenuButton": _accept,
                "sendMessage": self._send_message,
                "copyMessage": self._copy_message,
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendChatAction": self._send_chat_action,
                "getChat": self._get_chat,
                "createChatInviteLink": self._create_chat_invite_link,
                "createForumTopic": self._create_forum_topic,
                "closeForumTopic": self._close_forum_topic,
                "reopenForumTopic": self._reopen_forum_topic,
            }.items()
        }

    # --- Server lifecycle

    async def __aenter__(self) -> TelegramStandIn:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # Open long polls are released on exit, so a short shutdown timeout is plenty.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        self._released.set()
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = Call(method, await _read_params(request), time.monotonic())
        self.calls.append(call)
        try:
            result = await self._answer(request.match_info["token"], call, request)
        except ApiError as error:
            call.status, call.error = error.status, error.description
            response = error.response()
        except _CallerGone:
            call.status, call.error = 499, "the caller went away while the request hung"
            await self._notify()
            return web.Response(status=499)
        else:
            call.result = copy.deepcopy(result)
            response = web.json_response({"ok": True, "result": result})
        await self._notify()
        return response

    async def _answer(self, token: str, call: Call, request: web.Request) -> Any:
        if not _TOKEN.fullmatch(token):
            raise ApiError(401, "Unauthorized")
        name = call.method.lower()
        handler = self._handlers.get(name)
        if handler is None:
            raise ApiError(404, "Not Found")
        self.bot_user = _bot_user(token)
        chat_id = _as_chat_id(call.params.get("chat_id"))
        if any(hang.takes(name, chat_id) for hang in self._hangs):
            await self._hang(call)
        await self._hang_if_asked(name, chat_id, request)
        self._raise_injected_fault(name, chat_id, call.at)
        if name in _BLOCKABLE_METHODS and chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if name in _RATE_LIMITED_METHODS:
            self._enforce_rate_limit(chat_id, call.at)
        result = handler(call.params)
        if inspect.isawaitable(result):
            result = await result
        if name in _RATE_LIMITED_METHODS and self._limits is not None:
            self._limits.record(chat_id, call.at)
        return result

    async def _hang(self, call: Call) -> None:
        """No answer until released; then 504, and nothing was done (the bot may be gone)."""
        call.status, call.error = 504, "hung: no answer"  # never counts as delivered
        await self._notify()
        await self._released.wait()
        raise ApiError(504, "Gateway Timeout")

    async def _hang_if_asked(self, method: str, chat_id: int | None, request: web.Request) -> None:
        """A hung request waits, unanswered, until the hang ends. If the caller went away
        meanwhile (it timed out, or the process was killed), the request never reached
        Telegram's back end: nothing is done, as for a request lost on the way."""
        hang = next((h for h in self._timed_hangs if h.matches(method, chat_id)), None)
        if hang is None:
            return
        self.hung += 1
        await self._notify()
        while time.monotonic() < hang.until and not self._closing:
            await asyncio.sleep(0.05)
            transport = request.transport
            if transport is None or transport.is_closing():
                raise _CallerGone

    def _raise_injected_fault(self, method: str, chat_id: int | None, now: float) -> None:
        fault = next((f for f in self._faults if f.matches(method, chat_id, now)), None)
        if fault is not None and fault.times is not None:
            fault.times -= 1
        self._faults = [f for f in self._faults if not f.spent(now)]
        if fault is not None:
            raise fault.error()

    def _enforce_rate_limit(self, chat_id: int | None, now: float) -> None:
        if self._limits is None:
            return
        retry_after = self._limits.retry_after(chat_id, now)
        if retry_after is not None:
            self.rate_limited += 1
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- Bot API methods: identity, updates, webhook, commands

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm(params.get("offset"))
        if "allowed_updates" in params:
            self._allowed_updates = params["allowed_updates"]
        # Like Telegram, a newer getUpdates ends the one still waiting (e.g. of a killed bot).
        self._poll_generation += 1
        generation = self._poll_generation
        await self._notify()

        def superseded() -> bool:
            return generation != self._poll_generation

        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(
                        lambda: self._closing or superseded() or self._deliverable()
                    ),
                    timeout=max(0, params.get("timeout", 0)),
                )
        if superseded():
            raise ApiError(409, DEFAULT_ERRORS[409])
        limit = min(max(params.get("limit", 100), 1), 100)
        return copy.deepcopy(self._deliverable()[:limit])

    def _confirm(self, offset: int | None) -> None:
        """Forget updates below `offset`; a negative one keeps only the last -offset."""
        if offset is None:
            return
        self.offsets.append(offset)
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]

    def _deliverable(self) -> list[dict[str, Any]]:
        """Pending updates the bot asked for; Telegram never keeps the ones it did not."""
        self._updates = [update for update in self._updates if self._is_allowed(update)]
        return self._updates

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _NOT_DELIVERED_BY_DEFAULT

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = params
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        for command in commands:
            if not _BOT_COMMAND_NAME.fullmatch(command.get("command", "")):
                raise _bad_request("BOT_COMMAND_INVALID")
        self._commands[_commands_key(params)] = commands
        return True

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(_commands_key(params), None)
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self._commands.get(_commands_key(params), [])

    # --- Bot API methods: messages

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        text, entities = _render_text(params)
        return self._store_message(
            chat,
            self.bot_user,
            self._open_thread(chat, params),
            text=text,
            entities=entities,
            reply_markup=_inline_markup(params.get("reply_markup")),
        )

    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        """A file upload (multipart); the message carries the document, the call its bytes."""
        chat = self._target_chat(params)
        upload = params.get("document")
        if isinstance(upload, str) and upload.startswith("attach://"):
            # aiogram uploads the file as its own part and names it here
            upload = params["document"] = params.get(upload.removeprefix("attach://"))
        if not isinstance(upload, dict):
            raise _bad_request("there is no document in the request")
        caption, caption_entities = (
            _render_text(params, "caption") if "caption" in params else (None, None)
        )
        document = {
            **self._file("BQACAgIAAxkBAAI"),
            "file_name": upload["filename"],
            "mime_type": upload["content_type"],
            "file_size": upload["size"],
        }
        return self._store_message(
            chat,
            self.bot_user,
            self._open_thread(chat, params),
            document=document,
            caption=caption,
            caption_entities=caption_entities,
            reply_markup=_inline_markup(params.get("reply_markup")),
        )

    def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        """A photo upload (multipart), PNG or JPEG as Telegram takes them; the message carries
        its sizes (Telegram's own thumbnails are left out), the call its bytes."""
        chat = self._target_chat(params)
        upload = params.get("photo")
        if isinstance(upload, str) and upload.startswith("attach://"):
            upload = params["photo"] = params.get(upload.removeprefix("attach://"))
        if not isinstance(upload, dict):
            raise _bad_request("there is no photo in the request")
        width, height = _image_size(upload["content"])
        caption, caption_entities = (
            _render_text(params, "caption") if "caption" in params else (None, None)
        )
        if caption is not None and len(caption) > 1024:
            raise _bad_request("message caption is too long")
        photo = [{**self._file("AgACAgIAAxkBAAI"), "width": width, "height": height}]
        photo[0]["file_size"] = upload["size"]
        return self._store_message(
            chat,
            self.bot_user,
            self._open_thread(chat, params),
            photo=photo,
            caption=caption,
            caption_entities=caption_entities,
            reply_markup=_inline_markup(params.get("reply_markup")),
        )

    def _copy_message(self, params: dict[str, Any]) -> dict[str, int]:
        chat = self._target_chat(params)
        source_chat = _as_chat_id(params.get("from_chat_id"))
        source = self._find_message(source_chat, params.get("message_id"))
        if source is None:
            raise _bad_request("message to copy not found")
        content = {key: source[key] for key in _COPIED_CONTENT if key in source}
        if "caption" in params:
            content["caption"], content["caption_entities"] = _render_text(params, "caption")
        copied = self._store_message(
            chat,
            self.bot_user,
            self._open_thread(chat, params),
            reply_markup=_inline_markup(params.get("reply_markup")),
            **content,
        )
        return {"message_id": copied["message_id"]}

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable_message(params)
        text, entities = _render_text(params)
        # Telegram drops the inline keyboard when an edit does not repeat it.
        markup = _inline_markup(params.get("reply_markup"))
        return _apply_edit(message, text=text, entities=entities, reply_markup=markup)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable_message(params)
        return _apply_edit(message, reply_markup=_inline_markup(params.get("reply_markup")))

    def _delete_message(self, params: dict[str, Any]) -> bool:
        messages = self._messages.get(_as_chat_id(params.get("chat_id")), {})
        if messages.pop(params.get("message_id"), None) is None:
            raise _bad_request("message to delete not found")
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        callback_id = params.get("callback_query_id")
        if callback_id not in self._open_callbacks:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._open_callbacks.discard(callback_id)
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._target_chat(params)
        return True

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(
                (
                    "unlimited_gifts",
                    "limited_gifts",
                    "unique_gifts",
                    "premium_subscription",
                    "gifts_from_channels",
                ),
                False,
            ),
        }

    def _create_chat_invite_link(self, params: dict[str, Any]) -> dict[str, Any]:
        """A link into the chat (``fail`` it to play a bot that is not an admin there)."""
        chat_id = _as_chat_id(params.get("chat_id"))
        self.invite_links += 1
        return {
            "invite_link": f"https://t.me/+standin{abs(chat_id or 0)}x{self.invite_links}",
            "creator": self.bot_user,
            "creates_join_request": False,
            "is_primary": False,
            "is_revoked": False,
            **({"name": params["name"]} if params.get("name") else {}),
            **({"member_limit": int(params["member_limit"])} if params.get("member_limit") else {}),
        }

    # --- Bot API methods: forum topics

    def _create_forum_topic(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        if not chat.get("is_forum"):
            raise _bad_request("the chat is not a forum")
        # The topic's id is the id of the service message that opens it.
        self._last_message_id[chat["id"]] += 1
        topic = {
            "message_thread_id": self._last_message_id[chat["id"]],
            "name": params.get("name", ""),
            "icon_color": params.get("icon_color", 7322096),
        }
        self.topics[(chat["id"], topic["message_thread_id"])] = {**topic, "closed": False}
        return topic

    def _close_forum_topic(self, params: dict[str, Any]) -> bool:
        return self._set_topic_closed(params, closed=True)

    def _reopen_forum_topic(self, params: dict[str, Any]) -> bool:
        return self._set_topic_closed(params, closed=False)

    def _set_topic_closed(self, params: dict[str, Any], *, closed: bool) -> bool:
        key = (_as_chat_id(params.get("chat_id")), params.get("message_thread_id"))
        topic = self.topics.get(key)
        if topic is None:
            raise _bad_request("TOPIC_ID_INVALID")
        if topic["closed"] == closed:
            raise _bad_request("TOPIC_NOT_MODIFIED")
        topic["closed"] = closed
        return True

    # --- Chats and stored messages

    def _target_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        if "chat_id" not in params:
            raise _bad_request("chat_id is empty")
        chat_id = _as_chat_id(params["chat_id"])
        if chat_id is None:
            raise _bad_request("chat not found")
        return self._chat(chat_id)

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id not in self._chats:
            kind = "private" if chat_id > 0 else "supergroup"
            name = {"first_name": "Someone"} if kind == "private" else {"title": "Some group"}
            self._chats[chat_id] = {"id": chat_id, "type": kind, **name}
        return self._chats[chat_id]

    def _open_thread(self, chat: dict[str, Any], params: dict[str, Any]) -> int | None:
        thread_id = params.get("message_thread_id")
        if self.topics.get((chat["id"], thread_id), {}).get("closed"):
            raise _bad_request("TOPIC_CLOSED")
        return thread_id

    def _find_message(self, chat_id: int | None, message_id: Any) -> dict[str, Any] | None:
        return self._messages.get(chat_id, {}).get(message_id)

    def _editable_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _as_chat_id(params.get("chat_id"))
        message = self._find_message(chat_id, params.get("message_id"))
        if message is None:
            raise _bad_request("message to edit not found")
        if not message["from"].get("is_bot"):
            raise _bad_request("message can't be edited")
        return message

    def _store_message(
        self,
        chat: dict[str, Any],
        sender: dict[str, Any],
        thread_id: int | None,
        **content: Any,
    ) -> dict[str, Any]:
        """A new message in `chat`; bot and user messages share one id sequence per chat."""
        self._last_message_id[chat["id"]] += 1
        message = {
            "message_id": self._last_message_id[chat["id"]],
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            **_without_none(**content),
        }
        if thread_id is not None:
            message.update(message_thread_id=thread_id, is_topic_message=True)
        self._messages[chat["id"]][message["message_id"]] = message
        return message

    # --- Test side: who talks to the bot

    def user(
        self,
        user_id: int,
        first_name: str = "Ana",
        language_code: str | None = "es",
        *,
        username: str | None = None,
        last_name: str | None = None,
    ) -> TgUser:
        """A Telegram user; their private chat with the bot has the same id."""
        user = TgUser(user_id, first_name, language_code, username, last_name)
        self._chats[user_id] = user.private_chat().as_dict()
        return user

    def group(
        self,
        chat_id: int,
        title: str = "Peer group",
        *,
        kind: str = "supergroup",
        is_forum: bool = False,
    ) -> TgChat:
        """A group or supergroup (ids are negative); `is_forum=True` allows topics."""
        chat = TgChat(chat_id, kind, title=title, is_forum=is_forum)
        self._chats[chat_id] = chat.as_dict()
        return chat

    # --- Test side: what users do

    async def send_text(
        self,
        user: TgUser,
        text: str,
        chat: TgChat | None = None,
        *,
        thread_id: int | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Queue a text message update; a leading /command gets its bot_command entity."""
        return await self._user_says(
            user, chat, thread_id, reply_to, text=text, entities=_command_entities(text)
        )

    async def send_sticker(
        self, user: TgUser, emoji: str = "🙂", chat: TgChat | None = None
    ) -> dict[str, Any]:
        sticker = {
            **self._file("CAACAgIAAxkBAAI"),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "PeerbotTestStickers",
            "file_size": 21_504,
        }
        return await self._user_says(user, chat, sticker=sticker)

    async def send_photo(
        self, user: TgUser, caption: str | None = None, chat: TgChat | None = None
    ) -> dict[str, Any]:
        sizes = [
            {**self._file("AgACAgIAAxkBAAI"), "width": 90, "height": 68, "file_size": 1_402},
            {**self._file("AgACAgIAAxkBAAI"), "width": 1280, "height": 960, "file_size": 98_311},
        ]
        return await self._user_says(user, chat, photo=sizes, caption=caption)

    async def send_caption_photo(
        self, user: TgUser, caption: str, chat: TgChat | None = None
    ) -> dict[str, Any]:
        return await self.send_photo(user, caption, chat)

    async def send_voice(
        self, user: TgUser, duration: int = 4, chat: TgChat | None = None
    ) -> dict[str, Any]:
        voice = {
            **self._file("AwACAgIAAxkBAAI"),
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 6_200 * duration,
        }
        return await self._user_says(user, chat, voice=voice)

    async def send_document(
        self,
        user: TgUser,
        file_name: str = "notes.pdf",
        mime_type: str = "application/pdf",
        chat: TgChat | None = None,
    ) -> dict[str, Any]:
        document = {
            **self._file("BQACAgIAAxkBAAI"),
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": 48_213,
        }
        return await self._user_says(user, chat, document=document)

    async def edit_text(
        self, user: TgUser, message_id: int, new_text: str, chat: TgChat | None = None
    ) -> dict[str, Any]:
        """The user edits one of their text messages: queues an edited_message update."""
        chat_id = (chat or user).id
        message = self._find_message(chat_id, message_id)
        if message is None or message["from"]["id"] != user.id:
            raise AssertionError(f"user {user.id} has no message {message_id} in chat {chat_id}")
        message.update(text=new_text, edit_date=int(time.time()))
        message.pop("entities", None)
        message.update(_without_none(entities=_command_entities(new_text)))
        return await self._queue("edited_message", copy.deepcopy(message))

    async def press(self, user: TgUser, message: dict[str, Any] | Reply, data: str) -> str:
        """The user taps an inline button with `data` under a bot message; returns the query id."""
        if isinstance(message, Reply):
            message = message.message
        chat_id = message["chat"]["id"]
        current = self._find_message(chat_id, message["message_id"]) or message
        callback_id = str(next(self._callback_ids))
        self._open_callbacks.add(callback_id)
        await self._queue(
            "callback_query",
            {
                "id": callback_id,
                "from": user.as_dict(),
                "message": copy.deepcopy(current),
                "chat_instance": f"{abs(chat_id)}000",
                "data": data,
            },
        )
        return callback_id

    async def tap(self, user: TgUser, reply: Reply, text_substring: str) -> str:
        """Press the button whose text contains `text_substring`; returns the query id."""
        return await self.press(user, reply.message, reply.button(text_substring))

    async def _user_says(
        self,
        user: TgUser,
        chat: TgChat | None,
        thread_id: int | None = None,
        reply_to: dict[str, Any] | None = None,
        **content: Any,
    ) -> dict[str, Any]:
        chat = chat or user.private_chat()
        target = self._chats.setdefault(chat.id, chat.as_dict())
        message = self._store_message(
            target, user.as_dict(), thread_id, reply_to_message=reply_to, **content
        )
        return await self._queue("message", copy.deepcopy(message))

    async def _queue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self.queued.append((time.monotonic(), copy.deepcopy(update)))
        await self._notify()
        return update

    def _file(self, prefix: str) -> dict[str, str]:
        number = next(self._file_numbers)
        return {"file_id": f"{prefix}{number:08d}", "file_unique_id": f"AQAD{number:08d}"}

    # --- Test side: faults and limits

    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
        chat_id: int | None = None,
        html: bool = False,
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with an error;
        `html=True` answers with an HTML page, as Telegram's front end does for a 502."""
        self._faults.append(
            _Fault(
                method.lower(), status, description, retry_after, chat_id, times=times, html=html
            )
        )

    def fail_for(
        self,
        method: str,
        status: int,
        seconds: float,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        chat_id: int | None = None,
        html: bool = False,
    ) -> None:
        """Answer every call of `method` with an error for the next `seconds`."""
        until = time.monotonic() + seconds
        self._faults.append(
            _Fault(
                method.lower(), status, description, retry_after, chat_id, until=until, html=html
            )
        )

    def hang(self, method: str, *, times: int = 1, chat_id: int | None = None) -> None:
        """The next `times` calls of `method` (to `chat_id`, if given) get no answer until
        `release_hung()` or the stand-in closes (then 504, and nothing was sent): a
        request stuck somewhere between the bot and Telegram. Its call is recorded at once
        with status 504, so it never reads as delivered."""
        self._hangs.append(_Hang(method.lower(), chat_id, times))

    def release_hung(self) -> None:
        self._released.set()

    def enforce_limits(
        self,
        per_second: int = 30,
        per_chat_per_second: int = 1,
        per_group_per_minute: int | None = None,
    ) -> None:
        """Answer sends over these limits with 429 (counted in `rate_limited`); Telegram's
        own are 30, 1 and 20."""
        self._limits = _RateLimits(per_second, per_chat_per_second, per_group_per_minute)

    def hang_for(self, method: str, seconds: float, *, chat_id: int | None = None) -> None:
        """Hold every call of `method` (to `chat_id`, if given) unanswered for `seconds`; a
        call whose caller gave up meanwhile is dropped, never carried out."""
        self._timed_hangs.append(_TimedHang(method.lower(), chat_id, time.monotonic() + seconds))

    # --- Test side: waiting and reading

    def mark(self) -> int:
        """The number of calls so far: pass as `after=` to only see later calls."""
        return len(self.calls)

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10,
        after: int | None = None,
    ) -> Call:
        """The first call of `method` (made after mark `after`) that satisfies `predicate`."""
        wanted = method.lower()

        def matches(call: Call) -> bool:
            return call.method.lower() == wanted and (predicate is None or predicate(call))

        _, call = await self._wait_for_call(matches, after or 0, timeout, f"a {method} call")
        return call

    async def next_reply(self, chat_id: int, timeout: float = 10) -> Reply:
        """The next message sent or edited in `chat_id` since the previous next_reply there."""

        def is_reply(call: Call) -> bool:
            return (
                call.ok
                and call.method.lower() in _REPLY_METHODS
                and _as_chat_id(call.params.get("chat_id")) == chat_id
            )

        start = self._reply_cursors.get(chat_id, 0)
        index, call = await self._wait_for_call(
            is_reply, start, timeout, f"a reply in chat {chat_id}"
        )
        self._reply_cursors[chat_id] = index + 1
        return Reply(call)

    async def wait_confirmed(self, update: dict[str, Any] | int, timeout: float = 10) -> Call:
        """The getUpdates call whose offset confirmed `update` (i.e. the bot is done with it)."""
        update_id = update if isinstance(update, int) else update["update_id"]

        def confirms(call: Call) -> bool:
            return call.method.lower() == "getupdates" and call.params.get("offset", 0) > update_id

        _, call = await self._wait_for_call(
            confirms, 0, timeout, f"confirmation of update {update_id}"
        )
        return call

    def messages_to(self, chat_id: int) -> list[str]:
        """Texts (or captions) of the bot's messages still in `chat_id`, as they read now."""
        return [
            message.get("text", message.get("caption", ""))
            for message in self._messages.get(chat_id, {}).values()
            if message["from"].get("is_bot")
        ]

    def commands_for(
        self, language_code: str = "", scope: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The commands set for this scope and language (what getMyCommands would return)."""
        params = _without_none(language_code=language_code or None, scope=scope)
        return self._commands.get(_commands_key(params), [])

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued but not yet confirmed by the bot."""
        return list(self._updates)

    def describe_calls(self, last: int = 15) -> str:
        start = max(0, len(self.calls) - last)
        lines = [f"  #{index} {call}" for index, call in enumerate(self.calls[start:], start)]
        return "\n".join(lines) or "  (no calls)"

    async def _wait_for_call(
        self, matches: Callable[[Call], bool], start: int, timeout: float, waiting_for: str
    ) -> tuple[int, Call]:
        position = start

        def find() -> tuple[int, Call] | None:
            # Resume where the previous look stopped: calls are only ever appended.
            nonlocal position
            while position < len(self.calls):
                if matches(self.calls[position]):
                    return position, self.calls[position]
                position += 1
            return None

        try:
            async with self._changed:
                return await asyncio.wait_for(self._changed.wait_for(find), timeout)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {waiting_for}; recent calls:\n"
                f"{self.describe_calls()}"
            ) from None


# --- Small helpers ------------------------------------------------------------------------

_COPIED_CONTENT = (
    "text",
    "entities",
    "photo",
    "voice",
    "document",
    "sticker",
    "caption",
    "caption_entities",
)


def _accept(params: dict[str, Any]) -> bool:
    return True


def _bot_user(token: str) -> dict[str, Any]:
    return {
        "id": int(token.split(":", 1)[0]),
        "is_bot": True,
        "first_name": BOT_FIRST_NAME,
        "username": BOT_USERNAME,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), params.get("language_code") or ""


def _command_entities(text: str) -> list[dict[str, Any]] | None:
    """Telegram marks a leading /command (also /command@bot and /start PAYLOAD)."""
    match = _LEADING_COMMAND.match(text)
    if match is None:
        return None
    return [{"type": "bot_command", "offset": 0, "length": _utf16_length(match.group())}]


def _apply_edit(message: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Set the given fields (None removes one); an edit that changes nothing is refused."""
    if all(message.get(key) == value for key, value in changes.items()):
        raise ApiError(400, NOT_MODIFIED)
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    message["edit_date"] = int(time.time())
    return message


def _without_none(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
