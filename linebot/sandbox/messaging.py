"""Sending messages: reply, push, multicast, narrowcast, broadcast, validation and quota.

Accepted messages land in the recipients' chats (what the phone page shows). Quota counts one
per reachable recipient per request, as LINE does; replies are free.
"""

import datetime
import re
import time
from typing import Any

from werkzeug.wrappers import Response

from linebot.validation import validate_messages

from .responses import (
    MONTHLY_LIMIT,
    NOT_FOUND,
    ApiError,
    invalid_property,
    json_response,
    problems_error,
)
from .routing import Call, Route
from .state import Channel, SimUser, message_id, now_ms, random_hex

USER_ID = re.compile(r"^U[0-9a-f]{32}$")


def iso_ms(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def jst_day(ms: int) -> str:
    """The yyyyMMdd date in UTC+9, the time zone of LINE's statistics."""
    return time.strftime("%Y%m%d", time.gmtime(ms / 1000 + 9 * 3600))


def checked_messages(call: Call, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The body's messages, or LINE's 400 with one detail per problem."""
    problems = validate_messages(body.get("messages"), limits=call.sandbox.limits.messages)
    if problems:
        raise problems_error(problems)
    return body["messages"]


def deliver(
    channel: Channel, users: list[SimUser], messages: list[dict[str, Any]], *, via: str, call: Call
) -> list[dict[str, str]]:
    """Put the messages in each reachable user's chat; return LINE's ``sentMessages``."""
    sent = [{"id": message_id(), "quoteToken": random_hex(length=40)} for _ in messages]
    timestamp = now_ms()
    # A bot's entry is never changed once in a chat (only a user's own can be unsent), so the
    # recipients share one per message: a multicast to 500 costs 500 appends, not 500 dicts.
    entries = [
        {
            "from": "bot",
            "id": ids["id"],
            "message": message,
            "via": via,
            "timestamp": timestamp,
            "requestId": call.request_id,
        }
        for message, ids in zip(messages, sent, strict=True)
    ]
    reached = [user for user in users if user.reachable]
    for user in reached:
        user.loading_until = 0.0
        user.chat.extend(entries)
    day = jst_day(timestamp)
    channel.sent[f"{day}:{via}"] += len(reached) * len(messages)
    return sent


def quota_charge(call: Call, channel: Channel, recipients: int) -> None:
    """Count recipients against the monthly quota, or answer LINE's 429 when it would overflow."""
    if channel.quota is not None and channel.usage + recipients > channel.quota:
        raise ApiError(429, MONTHLY_LIMIT)
    channel.usage += recipients


def reply(call: Call) -> Response:
    body = call.json_object()
    token = body.get("replyToken")
    messages = checked_messages(call, body)
    channel = call.bot
    issued = channel.reply_tokens.get(token) if isinstance(token, str) else None
    if issued is None or issued["used"] or time.time() > issued["expires"]:
        raise ApiError(400, "Invalid reply token")
    issued["used"] = True
    user = channel.users.get(issued["userId"])
    sent = deliver(channel, [user] if user else [], messages, via="reply", call=call)
    return json_response({"sentMessages": sent})


def _recipient(channel: Channel, to: Any) -> SimUser:
    if not isinstance(to, str) or not to:
        raise invalid_property("to", "Required: the user id of the recipient.")
    if not USER_ID.match(to):
        raise invalid_property("to", "Must be a user id: U followed by 32 hex digits.")
    user = channel.users.get(to)
    if user is None:
        raise ApiError(400, "Failed to send messages")
    return user


def push(call: Call) -> Response:
    body = call.json_object()
    messages = checked_messages(call, body)
    channel = call.bot
    user = _recipient(channel, body.get("to"))
    quota_charge(call, channel, 1 if user.reachable else 0)
    sent = deliver(channel, [user], messages, via="push", call=call)
    return json_response({"sentMessages": sent})


def multicast(call: Call) -> Response:
    body = call.json_object()
    messages = checked_messages(call, body)
    channel = call.bot
    to = body.get("to")
    limit = call.sandbox.limits.multicast_max_recipients
    if not isinstance(to, list) or not to:
        raise invalid_property("to", "Required: a non-empty list of user ids.")
    if len(to) > limit:
        raise invalid_property("to", f"Must contain at most {limit} user ids; got {len(to)}.")
    for index, user_id in enumerate(to):
        if not isinstance(user_id, str) or not USER_ID.match(user_id):
            raise invalid_property(
                f"to[{index}]", "Must be a user id: U followed by 32 hex digits."
            )
    users = [channel.users[user_id] for user_id in dict.fromkeys(to) if user_id in channel.users]
    quota_charge(call, channel, sum(user.reachable for user in users))
    deliver(channel, users, messages, via="multicast", call=call)
    return json_response({})


def broadcast(call: Call) -> Response:
    body = call.json_object()
    messages = checked_messages(call, body)
    channel = call.bot
    users = [user for user in channel.users.values() if user.reachable]
    quota_charge(call, channel, len(users))
    deliver(channel, users, messages, via="broadcast", call=call)
    return json_response({})


def _recipient_ids(channel: Channel, recipient: Any, path: str) -> set[str]:
    """Evaluate a narrowcast recipient object (audience / redelivery / operator)."""
    if not isinstance(recipient, dict):
        raise invalid_property(path, "Must be a recipient object.")
    kind = recipient.get("type")
    if kind == "audience":
        audience = channel.audiences.get(recipient.get("audienceGroupId"))
        if audience is None:
            raise invalid_property(f"{path}.audienceGroupId", "Audience not found.")
        return set(audience["userIds"])
    if kind == "redelivery":
        previous = channel.narrowcasts.get(recipient.get("requestId"))
        if previous is None:
            raise invalid_property(f"{path}.requestId", "Request not found.")
        return set(previous["targets"])
    if kind == "operator":
        if "and" in recipient:
            parts = [
                _recipient_ids(channel, part, f"{path}.and[{index}]")
                for index, part in enumerate(recipient["and"])
            ]
            return set.intersection(*parts) if parts else set()
        if "or" in recipient:
            return set().union(
                *(
                    _recipient_ids(channel, part, f"{path}.or[{index}]")
                    for index, part in enumerate(recipient["or"])
                )
            )
        if "not" in recipient:
            return set(channel.users) - _recipient_ids(channel, recipient["not"], f"{path}.not")
        raise invalid_property(path, "An operator needs and, or or not.")
    raise invalid_property(f"{path}.type", "Must be audience, redelivery or operator.")


MIN_FRIENDS_FOR_FILTER = 100
MIN_NARROWCAST_TARGETS = 50
MAX_NARROWCAST_AUDIENCES = 10


def _audience_count(recipient: Any) -> int:
    """How many audiences a recipient object combines (LINE allows up to 10)."""
    if not isinstance(recipient, dict):
        return 0
    parts = [*recipient.get("and", []), *recipient.get("or", [])]
    if "not" in recipient:
        parts.append(recipient["not"])
    return (recipient.get("type") == "audience") + sum(_audience_count(p) for p in parts)


def narrowcast(call: Call) -> Response:
    body = call.json_object()
    messages = checked_messages(call, body)
    channel = call.bot
    reachable = [user for user in channel.users.values() if user.reachable]
    if body.get("filter") and len(reachable) < MIN_FRIENDS_FOR_FILTER:
        raise ApiError(403, "Not enough reachable friends to use a demographic filter.")
    if _audience_count(body.get("recipient")) > MAX_NARROWCAST_AUDIENCES:
        raise invalid_property(
            "recipient", f"Must combine at most {MAX_NARROWCAST_AUDIENCES} audiences."
        )
    if body.get("recipient") is None:
        ids = {user.user_id for user in reachable}
    else:
        ids = _recipient_ids(channel, body["recipient"], "recipient")
    targets = sorted(uid for uid in ids if uid in channel.users and channel.users[uid].reachable)
    limit = body.get("limit") or {}
    if isinstance(limit.get("max"), int):
        targets = targets[: limit["max"]]
    progress: dict[str, Any] = {"phase": "succeeded", "acceptedTime": iso_ms(now_ms())}
    remaining = None if channel.quota is None else max(channel.quota - channel.usage, 0)
    if limit.get("upToRemainingQuota") and remaining is not None and len(targets) > remaining:
        if limit.get("forbidPartialDelivery"):
            progress.update(phase="failed", errorCode=5, failedDescription="partial delivery")
            targets = []
        targets = targets[:remaining]
    if (
        progress["phase"] == "succeeded"
        and body.get("filter")
        and (len(targets) < MIN_NARROWCAST_TARGETS)
    ):
        progress.update(phase="failed", errorCode=2, failedDescription="not enough recipients")
        targets = []
    if progress["phase"] == "succeeded":
        quota_charge(call, channel, len(targets))
        deliver(channel, [channel.users[t] for t in targets], messages, via="narrowcast", call=call)
        progress.update(successCount=len(targets), failureCount=0)
    progress.update(targetCount=len(targets), completedTime=iso_ms(now_ms()))
    channel.narrowcasts[call.request_id] = {"progress": progress, "targets": targets}
    return json_response({}, status=202)


def narrowcast_progress(call: Call) -> Response:
    request_id = call.request.args.get("requestId")
    if not request_id:
        raise invalid_property("requestId", "Required.")
    found = call.bot.narrowcasts.get(request_id)
    if found is None:
        raise ApiError(404, NOT_FOUND)
    return json_response(found["progress"])


def validate(call: Call) -> Response:
    checked_messages(call, call.json_object())
    return json_response({})


def quota(call: Call) -> Response:
    channel = call.bot
    if channel.quota is None:
        return json_response({"type": "none"})
    return json_response({"type": "limited", "value": channel.quota})


def quota_consumption(call: Call) -> Response:
    return json_response({"totalUsage": call.bot.usage})


def profile(call: Call, user_id: str) -> Response:
    user = call.bot.users.get(user_id)
    if user is None or not user.reachable:
        raise ApiError(404, NOT_FOUND)
    return json_response(user.profile())


def followers(call: Call) -> Response:
    limits = call.sandbox.limits
    try:
        limit = int(call.request.args.get("limit", 300))
    except ValueError as error:
        raise invalid_property("limit", "Must be a number.") from error
    if not 1 <= limit <= limits.followers_max_limit:
        raise invalid_property("limit", f"Must be between 1 and {limits.followers_max_limit}.")
    start = call.request.args.get("start")
    friends = sorted(
        (user for user in call.bot.users.values() if user.reachable),
        key=lambda user: (user.followed_at, user.user_id),
    )
    offset = 0
    if start:
        if not start.isdigit():
            raise invalid_property("start", "Invalid continuation token.")
        offset = int(start)
    page = friends[offset : offset + limit]
    body: dict[str, Any] = {"userIds": [user.user_id for user in page]}
    if offset + limit < len(friends):
        body["next"] = str(offset + limit)
    return json_response(body)


def bot_info(call: Call) -> Response:
    channel = call.bot
    info = {
        "userId": channel.bot_user_id,
        "basicId": channel.basic_id,
        "displayName": channel.name,
        "chatMode": "bot",
        "markAsReadMode": "auto",
    }
    if channel.picture_url:
        info["pictureUrl"] = channel.picture_url
    return json_response(info)


def content(call: Call, message_id: str) -> Response:
    found = call.bot.contents.get(message_id)
    if found is None:
        raise ApiError(404, NOT_FOUND)
    content_type, data = found
    return Response(data, content_type=content_type)


def loading_start(call: Call) -> Response:
    """Show the typing indicator in the user's chat until a message arrives or time is up."""
    body = call.json_object()
    seconds = body.get("loadingSeconds", 20)
    if not isinstance(seconds, int) or not 5 <= seconds <= 60 or seconds % 5:
        raise invalid_property("loadingSeconds", "Must be a multiple of 5 from 5 to 60.")
    chat_id = body.get("chatId")
    user = call.bot.users.get(chat_id) if isinstance(chat_id, str) else None
    if user is None:
        raise invalid_property("chatId", "Must be the user id of a user in a one-on-one chat.")
    if user.reachable:
        user.loading_until = time.time() + seconds
    return json_response({}, status=202)


def link_token(call: Call, user_id: str) -> Response:
    user = call.bot.users.get(user_id)
    if user is None or not user.reachable:
        raise ApiError(400, "The user hasn't added the LINE Official Account as a friend.")
    token = random_hex(length=32)
    call.bot.link_tokens[token] = {
        "userId": user_id,
        "expires": time.time() + call.sandbox.limits.link_token_ttl,
        "used": False,
    }
    return json_response({"linkToken": token})


ROUTES = [
    Route("/v2/bot/message/reply", "POST", "reply", reply),
    Route("/v2/bot/message/push", "POST", "push", push, retry_key=True),
    Route("/v2/bot/message/multicast", "POST", "multicast", multicast, retry_key=True),
    Route("/v2/bot/message/narrowcast", "POST", "narrowcast", narrowcast, retry_key=True),
    Route("/v2/bot/message/broadcast", "POST", "broadcast", broadcast, retry_key=True),
    Route("/v2/bot/message/progress/narrowcast", "GET", "narrowcast_progress", narrowcast_progress),
    *(
        Route(f"/v2/bot/message/validate/{kind}", "POST", f"validate_{kind}", validate)
        for kind in ("reply", "push", "multicast", "narrowcast", "broadcast")
    ),
    Route("/v2/bot/message/quota", "GET", "quota", quota),
    Route("/v2/bot/message/quota/consumption", "GET", "quota_consumption", quota_consumption),
    Route("/v2/bot/profile/<user_id>", "GET", "profile", profile),
    Route("/v2/bot/followers/ids", "GET", "followers", followers),
    Route("/v2/bot/info", "GET", "bot_info", bot_info),
    Route("/v2/bot/message/<message_id>/content", "GET", "content", content),
    Route("/v2/bot/user/<user_id>/linkToken", "POST", "link_token", link_token),
    Route("/v2/bot/chat/loading/start", "POST", "loading", loading_start),
]
