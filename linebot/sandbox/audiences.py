"""Uploaded audiences (user id lists) for narrowcast: create, add, get, list, delete.

Uploads finish at once (status READY), so a narrowcast right after an upload finds its users.
"""

import math
import time
from typing import Any

from werkzeug.wrappers import Response

from .responses import ApiError, invalid_property, json_response
from .routing import Call, Route
from .state import Channel

MAX_AUDIENCES = 1000
MAX_FILE_IDS = 1_500_000
KEPT_SECONDS = 180 * 24 * 3600


def _ids_from_json(call: Call, body: dict[str, Any]) -> list[str]:
    audiences = body.get("audiences", [])
    limit = call.sandbox.limits.audience_max_ids
    if not isinstance(audiences, list):
        raise invalid_property("audiences", "Must be a list of {id} objects.")
    if len(audiences) > limit:
        raise invalid_property("audiences", f"Must contain at most {limit} ids.")
    ids = []
    for index, item in enumerate(audiences):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise invalid_property(f"audiences[{index}].id", "Required: a user id.")
        ids.append(item["id"])
    return ids


def _ids_from_file(call: Call) -> list[str]:
    upload = call.request.files.get("file")
    if upload is None:
        raise invalid_property("file", "Required: a text file with one user id per line.")
    ids = [line.strip() for line in upload.read().decode().splitlines() if line.strip()]
    if len(ids) > MAX_FILE_IDS:
        raise invalid_property("file", f"Must contain at most {MAX_FILE_IDS} ids.")
    return ids


def _job(audience: dict[str, Any], ids: list[str], description: str) -> None:
    before = len(audience["userIds"])
    audience["userIds"].update(ids)
    audience["jobs"].append(
        {
            "audienceGroupJobId": len(audience["jobs"]) + 1,
            "audienceGroupId": audience["audienceGroupId"],
            "description": description,
            "type": "DIFF_ADD",
            "jobStatus": "FINISHED",
            "audienceCount": len(audience["userIds"]) - before,
            "created": int(time.time()),
        }
    )


def _create(call: Call, *, description: Any, ids: list[str], upload_description: str) -> Response:
    channel = call.bot
    if not isinstance(description, str) or not 1 <= len(description) <= 120:
        raise invalid_property("description", "Required, at most 120 characters.")
    if len(channel.audiences) >= MAX_AUDIENCES:
        raise ApiError(400, "audience group count limit exceeded")
    created = int(time.time())
    audience_id = call.sandbox.rng.randrange(10**12, 10**13)
    audience = {
        "audienceGroupId": audience_id,
        "createRoute": "MESSAGING_API",
        "type": "UPLOAD",
        "description": description,
        "status": "READY",
        "created": created,
        "permission": "READ_WRITE",
        "expireTimestamp": created + KEPT_SECONDS,
        "isIfaAudience": False,
        "userIds": set(),
        "jobs": [],
    }
    _job(audience, ids, upload_description)
    channel.audiences[audience_id] = audience
    keys = (
        "audienceGroupId",
        "createRoute",
        "type",
        "description",
        "created",
        "permission",
        "expireTimestamp",
        "isIfaAudience",
    )
    return json_response({key: audience[key] for key in keys}, status=202)


def create(call: Call) -> Response:
    body = call.json_object()
    return _create(
        call,
        description=body.get("description"),
        ids=_ids_from_json(call, body),
        upload_description=str(body.get("uploadDescription", "")),
    )


def create_by_file(call: Call) -> Response:
    form = call.request.form
    return _create(
        call,
        description=form.get("description"),
        ids=_ids_from_file(call),
        upload_description=form.get("uploadDescription", ""),
    )


def _audience(channel: Channel, audience_id: Any) -> dict[str, Any]:
    try:
        audience = channel.audiences.get(int(audience_id))
    except (TypeError, ValueError):
        audience = None
    if audience is None:
        raise ApiError(
            400, "audience group not found", details=[{"message": "AUDIENCE_GROUP_NOT_FOUND"}]
        )
    return audience


def add(call: Call) -> Response:
    body = call.json_object()
    audience = _audience(call.bot, body.get("audienceGroupId"))
    _job(audience, _ids_from_json(call, body), str(body.get("uploadDescription", "")))
    return json_response({}, status=202)


def add_by_file(call: Call) -> Response:
    form = call.request.form
    audience = _audience(call.bot, form.get("audienceGroupId"))
    _job(audience, _ids_from_file(call), form.get("uploadDescription", ""))
    return json_response({}, status=202)


def _public(audience: dict[str, Any]) -> dict[str, Any]:
    public = {k: v for k, v in audience.items() if k not in ("userIds", "jobs")}
    public["audienceCount"] = len(audience["userIds"])
    return public


def get(call: Call, audience_id: str) -> Response:
    audience = _audience(call.bot, audience_id)
    return json_response({"audienceGroup": _public(audience), "jobs": audience["jobs"]})


def delete(call: Call, audience_id: str) -> Response:
    audience = _audience(call.bot, audience_id)
    del call.bot.audiences[audience["audienceGroupId"]]
    return json_response({})


def rename(call: Call, audience_id: str) -> Response:
    audience = _audience(call.bot, audience_id)
    description = call.json_object().get("description")
    if not isinstance(description, str) or not 1 <= len(description) <= 120:
        raise invalid_property("description", "Required, at most 120 characters.")
    audience["description"] = description
    return json_response({})


def list_audiences(call: Call) -> Response:
    args = call.request.args
    try:
        page = int(args.get("page", ""))
        size = int(args.get("size", 20))
    except ValueError as error:
        raise invalid_property("page", "Required: a page number from 1.") from error
    if page < 1 or not 1 <= size <= 40:
        raise invalid_property("page", "page must be at least 1 and size 1 to 40.")
    found = [
        audience
        for audience in call.bot.audiences.values()
        if args.get("description", "").lower() in audience["description"].lower()
        and args.get("status", audience["status"]) == audience["status"]
    ]
    start = (page - 1) * size
    return json_response(
        {
            "audienceGroups": [_public(a) for a in found[start : start + size]],
            "hasNextPage": page < math.ceil(len(found) / size),
            "totalCount": len(found),
            "readWriteAudienceGroupTotalCount": len(found),
            "page": page,
            "size": size,
        }
    )


def inspect(channel: Channel) -> list[dict[str, Any]]:
    """Audiences with their user ids, for the control API."""
    return [
        {**_public(audience), "userIds": sorted(audience["userIds"]), "jobs": audience["jobs"]}
        for audience in channel.audiences.values()
    ]


ROUTES = [
    Route("/v2/bot/audienceGroup/upload", "POST", "audience_create", create),
    Route("/v2/bot/audienceGroup/upload", "PUT", "audience_add", add),
    Route("/v2/bot/audienceGroup/upload/byFile", "POST", "audience_create_file", create_by_file),
    Route("/v2/bot/audienceGroup/upload/byFile", "PUT", "audience_add_file", add_by_file),
    Route("/v2/bot/audienceGroup/list", "GET", "audience_list", list_audiences),
    Route("/v2/bot/audienceGroup/<audience_id>", "GET", "audience_get", get),
    Route("/v2/bot/audienceGroup/<audience_id>", "DELETE", "audience_delete", delete),
    Route(
        "/v2/bot/audienceGroup/<audience_id>/updateDescription", "PUT", "audience_rename", rename
    ),
]
