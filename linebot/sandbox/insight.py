"""Statistics: followers and message deliveries per day (UTC+9), from what the sandbox saw.

Unlike LINE, a day's numbers are ready at once (no aggregation delay), so demos show them;
future dates answer ``unready``.
"""

import functools
import re

from werkzeug.wrappers import Response

from .messaging import jst_day
from .responses import invalid_property, json_response
from .routing import Call, Route
from .state import now_ms

DATE = re.compile(r"^[0-9]{8}$")


def _date(call: Call, *, required: bool) -> str:
    date = call.request.args.get("date") or ("" if required else jst_day(now_ms()))
    if not DATE.match(date):
        raise invalid_property("date", "Must be a date as yyyyMMdd.")
    return date


def followers(call: Call) -> Response:
    date = _date(call, required=False)
    if date > jst_day(now_ms()):
        return json_response({"status": "unready"})
    users = [
        user
        for user in call.bot.users.values()
        if user.is_friend and jst_day(user.followed_at) <= date
    ]
    return json_response(
        {
            "status": "ready",
            "followers": len(users),
            "targetedReaches": sum(user.reachable for user in users),
            "blocks": sum(user.blocked for user in users),
        }
    )


def deliveries(call: Call) -> Response:
    date = _date(call, required=True)
    if date > jst_day(now_ms()):
        return json_response({"status": "unready"})
    sent = call.bot.sent
    counts = {
        "apiBroadcast": sent[f"{date}:broadcast"],
        "apiPush": sent[f"{date}:push"],
        "apiMulticast": sent[f"{date}:multicast"],
        "apiNarrowcast": sent[f"{date}:narrowcast"],
        "apiReply": sent[f"{date}:reply"],
    }
    return json_response({"status": "ready", **{k: v for k, v in counts.items() if v}})


def sent_count(call: Call, via: str) -> Response:
    """``/v2/bot/message/delivery/{via}``: messages sent that day by one way of sending."""
    date = _date(call, required=True)
    if date > jst_day(now_ms()):
        return json_response({"status": "unready"})
    return json_response({"status": "ready", "success": call.bot.sent[f"{date}:{via}"]})


ROUTES = [
    Route("/v2/bot/insight/followers", "GET", "insight_followers", followers),
    Route("/v2/bot/insight/message/delivery", "GET", "insight_delivery", deliveries),
    *(
        Route(
            f"/v2/bot/message/delivery/{via}",
            "GET",
            f"delivery_{via}",
            functools.partial(sent_count, via=via),
        )
        for via in ("reply", "push", "multicast", "broadcast")
    ),
]
