"""The Messaging API client, against LINE's OpenAPI description and canned LINE answers.

Every request goes through ``SpecCheckingAdapter``, the transport under the client's real
session: the client is not mocked, only the network is replaced by answers shaped like LINE's.
"""

import datetime as dt
import json
import logging
import os
import pickle
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from linebot import endpoints as ep
from linebot.client import LineClient, client_for_channel
from linebot.errors import (
    ErrorDetail,
    LineApiError,
    LineBadRequest,
    LineConflict,
    LineForbidden,
    LineNotFound,
    LineRateLimited,
    LineRequestTooLarge,
    LineServerError,
    LineTimeout,
    LineUnauthorized,
)
from linebot.models import Channel
from linebot.types import Ack, Content, SendResult

from .openapi import REPO_ROOT, SpecCheckingAdapter, SpecViolation, install, line_spec, spec_dir

TOKEN = "secret-channel-access-token-do-not-log"
API = "https://api.line.test"
API_DATA = "https://api-data.line.test"
REQUEST_ID = "5d3b7ef2-4d1c-4f3b-8d4a-0a1b2c3d4e5f"
USER = "U" + "4af4980629" * 3 + "ab"
USER_2 = "U" + "0c229f96c4" * 3 + "cd"
RETRY_KEY = "123e4567-e89b-12d3-a456-426614174000"

TEXT = {"type": "text", "text": "Hello"}
FLEX = {
    "type": "flex",
    "altText": "Your points",
    "contents": {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "contents": [{"type": "text", "text": "120 points", "weight": "bold"}],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "action": {"type": "uri", "label": "Open", "uri": "https://example.com/"},
                }
            ],
        },
    },
}
RICH_MENU = {
    "size": {"width": 2500, "height": 843},
    "selected": False,
    "name": "Members",
    "chatBarText": "Menu",
    "areas": [
        {
            "bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
            "action": {"type": "postback", "data": "action=points"},
        },
        {
            "bounds": {"x": 1250, "y": 0, "width": 1250, "height": 843},
            "action": {"type": "richmenuswitch", "richMenuAliasId": "page-2", "data": "p=2"},
        },
    ],
}
SENT = {"sentMessages": [{"id": "461230966842064897", "quoteToken": "IStG5h1Tz7b"}]}
AUDIENCE = {
    "audienceGroupId": 1234567890123,
    "createRoute": "MESSAGING_API",
    "type": "UPLOAD",
    "description": "VIP",
    "created": 1613698278,
    "permission": "READ_WRITE",
    "expireTimestamp": 1629250278,
    "isIfaAudience": False,
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# What LINE answers to each operation: (status, JSON body or raw bytes).
ANSWERS: dict[str, tuple[int, Any]] = {
    "replyMessage": (200, SENT),
    "pushMessage": (200, SENT),
    "multicast": (200, {}),
    "narrowcast": (202, {}),
    "broadcast": (200, {}),
    "getNarrowcastProgress": (
        200,
        {
            "phase": "succeeded",
            "successCount": 98,
            "failureCount": 2,
            "targetCount": 100,
            "acceptedTime": "2020-12-03T10:15:30.121Z",
            "completedTime": "2020-12-03T10:15:39.121Z",
        },
    ),
    "getMessageQuota": (200, {"type": "limited", "value": 1000}),
    "getMessageQuotaConsumption": (200, {"totalUsage": 500}),
    "getProfile": (200, {"displayName": "LINE taro", "userId": USER, "language": "ja"}),
    "getFollowers": (200, {"userIds": [USER, USER_2]}),
    "getBotInfo": (
        200,
        {
            "userId": USER,
            "basicId": "@216ru",
            "displayName": "Shop",
            "chatMode": "bot",
            "markAsReadMode": "auto",
        },
    ),
    "getMessageContent": (200, PNG),
    "issueLinkToken": (200, {"linkToken": "NMZTNuVrPTqlr2IF8Bnymkb7rXfYv5EY"}),
    "createRichMenu": (200, {"richMenuId": "richmenu-1"}),
    "getRichMenuList": (200, {"richmenus": [{**RICH_MENU, "richMenuId": "richmenu-1"}]}),
    "getRichMenu": (200, {**RICH_MENU, "richMenuId": "richmenu-1"}),
    "getRichMenuImage": (200, PNG),
    "getDefaultRichMenuId": (200, {"richMenuId": "richmenu-1"}),
    "getRichMenuIdOfUser": (200, {"richMenuId": "richmenu-1"}),
    "linkRichMenuIdToUsers": (202, {}),
    "unlinkRichMenuIdFromUsers": (202, {}),
    "getRichMenuAlias": (200, {"richMenuAliasId": "page-2", "richMenuId": "richmenu-1"}),
    "getRichMenuAliasList": (
        200,
        {"aliases": [{"richMenuAliasId": "page-2", "richMenuId": "richmenu-1"}]},
    ),
    "richMenuBatch": (202, {}),
    "getRichMenuBatchProgress": (
        200,
        {"phase": "ongoing", "acceptedTime": "2023-07-04T10:15:30.121Z"},
    ),
    "createAudienceGroup": (202, AUDIENCE),
    "addAudienceToAudienceGroup": (202, {}),
    "createAudienceForUploadingUserIds": (202, AUDIENCE),
    "getAudienceData": (
        200,
        {
            "audienceGroup": {**AUDIENCE, "status": "READY", "audienceCount": 2},
            "jobs": [{"audienceGroupJobId": 1, "jobStatus": "FINISHED", "audienceCount": 2}],
        },
    ),
    "getAudienceGroups": (
        200,
        {
            "audienceGroups": [{**AUDIENCE, "status": "READY"}],
            "hasNextPage": False,
            "totalCount": 1,
            "page": 1,
            "size": 20,
        },
    ),
    "getNumberOfFollowers": (
        200,
        {"status": "ready", "followers": 7620, "targetedReaches": 5848, "blocks": 237},
    ),
    "getNumberOfMessageDeliveries": (
        200,
        {"status": "ready", "broadcast": 5385, "targeting": 522, "apiPush": 10},
    ),
    "getWebhookEndpoint": (200, {"endpoint": "https://example.com/line/", "active": True}),
    "testWebhookEndpoint": (
        200,
        {
            "success": True,
            "timestamp": "2020-09-30T05:38:20.031Z",
            "statusCode": 200,
            "reason": "OK",
            "detail": "200",
        },
    ),
}

# Every client method, with arguments that exercise its options.
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("reply", {"reply_token": "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", "messages": [TEXT, FLEX]}),
    ("push", {"to": USER, "messages": [TEXT], "notification_disabled": True}),
    ("push", {"to": USER, "messages": [FLEX], "retry_key": RETRY_KEY}),
    ("multicast", {"to": [USER, USER_2], "messages": [TEXT], "custom_aggregation_units": ["x"]}),
    (
        "narrowcast",
        {
            "messages": [TEXT],
            "recipient": {
                "type": "operator",
                "and": [
                    {"type": "audience", "audienceGroupId": 1234567890123},
                    {"type": "operator", "not": {"type": "audience", "audienceGroupId": 9}},
                ],
            },
            "filter": {"demographic": {"type": "gender", "oneOf": ["female"]}},
            "limit": {"max": 100, "upToRemainingQuota": True, "forbidPartialDelivery": True},
        },
    ),
    ("narrowcast_progress", {"request_id": REQUEST_ID}),
    ("broadcast", {"messages": [TEXT]}),
    *[("messages_validate", {"kind": kind, "messages": [FLEX]}) for kind in ep.VALIDATE_MESSAGES],
    ("quota", {}),
    ("quota_consumption", {}),
    ("profile", {"user_id": USER}),
    ("follower_ids", {"start": "yANU9IA", "limit": 1000}),
    ("bot_info", {}),
    ("message_content", {"message_id": "325708"}),
    ("link_token_issue", {"user_id": USER}),
    ("rich_menu_create", {"rich_menu": RICH_MENU}),
    ("rich_menu_validate", {"rich_menu": RICH_MENU}),
    ("rich_menu_list", {}),
    ("rich_menu_get", {"rich_menu_id": "richmenu-1"}),
    ("rich_menu_delete", {"rich_menu_id": "richmenu-1"}),
    (
        "rich_menu_image_upload",
        {"rich_menu_id": "richmenu-1", "image": PNG, "content_type": "image/png"},
    ),
    ("rich_menu_image_download", {"rich_menu_id": "richmenu-1"}),
    ("rich_menu_default_set", {"rich_menu_id": "richmenu-1"}),
    ("rich_menu_default_get", {}),
    ("rich_menu_default_cancel", {}),
    ("rich_menu_user_get", {"user_id": USER}),
    ("rich_menu_user_link", {"user_id": USER, "rich_menu_id": "richmenu-1"}),
    ("rich_menu_user_unlink", {"user_id": USER}),
    ("rich_menu_bulk_link", {"rich_menu_id": "richmenu-1", "user_ids": [USER, USER_2]}),
    ("rich_menu_bulk_unlink", {"user_ids": [USER, USER_2]}),
    ("rich_menu_alias_create", {"alias_id": "page-2", "rich_menu_id": "richmenu-1"}),
    ("rich_menu_alias_get", {"alias_id": "page-2"}),
    ("rich_menu_alias_update", {"alias_id": "page-2", "rich_menu_id": "richmenu-2"}),
    ("rich_menu_alias_delete", {"alias_id": "page-2"}),
    ("rich_menu_alias_list", {}),
    (
        "rich_menu_batch",
        {
            "operations": [
                {"type": "link", "from": "richmenu-1", "to": "richmenu-2"},
                {"type": "unlink", "from": "richmenu-3"},
            ],
            "resume_request_key": "campaign-42",
        },
    ),
    ("rich_menu_batch_validate", {"operations": [{"type": "unlinkAll"}]}),
    ("rich_menu_batch_progress", {"request_id": REQUEST_ID}),
    (
        "audience_create",
        {"description": "VIP", "user_ids": [USER, USER_2], "upload_description": "first"},
    ),
    ("audience_add", {"audience_group_id": 1234567890123, "user_ids": [USER]}),
    (
        "audience_create_by_file",
        {"description": "Everyone", "user_ids": (USER, USER_2), "upload_description": "f"},
    ),
    ("audience_get", {"audience_group_id": 1234567890123}),
    ("audience_list", {"page": 2, "size": 40, "description": "VIP", "status": "READY"}),
    ("audience_delete", {"audience_group_id": 1234567890123}),
    ("insight_followers", {"date": dt.date(2026, 11, 22)}),
    ("insight_followers", {}),
    ("insight_message_deliveries", {"date": dt.date(2026, 11, 22)}),
    ("webhook_endpoint_get", {}),
    ("webhook_endpoint_set", {"endpoint": "https://crm.example.com/line/webhook/abc/"}),
    ("webhook_endpoint_test", {}),
    ("webhook_endpoint_test", {"endpoint": "https://crm.example.com/line/webhook/abc/"}),
]


def line_response(
    request: requests.PreparedRequest,
    status: int = 200,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """An answer shaped like LINE's: JSON (or bytes), with its request id header."""
    response = requests.Response()
    response.status_code = status
    response.reason = HTTPStatus(status).phrase
    response.url = request.url or ""
    response.request = request
    if isinstance(body, bytes):
        content, content_type = body, "image/png"
    else:
        content, content_type = (
            json.dumps({} if body is None else body).encode(),
            "application/json",
        )
    response._content = content
    response._content_consumed = True
    response.headers = CaseInsensitiveDict(
        {
            "Content-Type": content_type,
            "Content-Length": str(len(content)),
            "x-line-request-id": REQUEST_ID,
            **(headers or {}),
        }
    )
    return response


def answer_by_operation(request: requests.PreparedRequest) -> requests.Response:
    operation, _ = line_spec().find(request.method or "", urlsplit(request.url).path)
    status, body = ANSWERS.get(operation.operation_id, (200, {}))
    return line_response(request, status, body)


def scripted(*answers: tuple[int, Any] | tuple[int, Any, dict[str, str]]) -> Callable:
    """A responder giving these answers in turn, whatever the request."""
    remaining = list(answers)

    def respond(request: requests.PreparedRequest) -> requests.Response:
        return line_response(request, *remaining.pop(0))

    return respond


def make_client(**kwargs: Any) -> LineClient:
    options = {"timeout": 2.0, "max_retries": 3, "backoff": 0.001, **kwargs}
    return LineClient(access_token=TOKEN, api_base=API, api_data_base=API_DATA, **options)


@pytest.fixture
def client() -> LineClient:
    return make_client()


def retry_keys(adapter: SpecCheckingAdapter) -> list[str | None]:
    return [request.headers.get("X-Line-Retry-Key") for request in adapter.requests]


def _normalised(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path)


@pytest.mark.parametrize("endpoint", ep.ALL, ids=lambda endpoint: endpoint.path)
def test_every_endpoint_is_an_operation_of_lines_spec_on_its_host(endpoint):
    operations = [
        operation
        for operation in line_spec().operations
        if operation.method == endpoint.method
        and _normalised(operation.template) == _normalised(endpoint.path)
    ]
    assert operations, f"{endpoint.method} {endpoint.path} is not in LINE's OpenAPI description"
    assert operations[0].host == endpoint.host


BASE_URLS = {ep.Host.API: API, ep.Host.API_DATA: API_DATA}
AUTH = {"Authorization": "Bearer token"}


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "problem"),
    [
        (
            "POST",
            "/v2/bot/message/push",
            {"json": {"to": USER, "messages": [{"type": "text"}]}},
            "'text' is a required property",
        ),
        (
            "POST",
            "/v2/bot/message/push",
            {"json": {"to": USER, "messages": [{"type": "txt"}]}},
            "type 'txt' is not one of",
        ),
        (
            "POST",
            "/v2/bot/message/multicast",
            {"json": {"to": [USER] * 501, "messages": [TEXT]}},
            "fails maxItems 500",
        ),
        (
            "POST",
            "/v2/bot/message/reply",
            {
                "json": {"replyToken": "t", "messages": [TEXT]},
                "headers": {"X-Line-Retry-Key": RETRY_KEY},
            },
            "does not take an X-Line-Retry-Key",
        ),
        (
            "POST",
            "/v2/bot/message/push",
            {"json": {"to": USER, "messages": [TEXT]}, "headers": {"X-Line-Retry-Key": "abc"}},
            "is no UUID",
        ),
        ("GET", "/v2/bot/richmenu/r1/content", {}, "served by the api_data host"),
        ("GET", "/v2/bot/followers/ids?limit=1001", {}, "maximum of 1000"),
        ("GET", "/v2/bot/followers/ids?begin=x", {}, "unknown query parameter"),
        ("GET", "/v2/bot/audienceGroup/VIP", {}, "is not a integer"),
        ("GET", "/v2/bot/message/progress/narrowcast", {}, "'requestId' missing"),
        ("POST", "/v2/bot/richmenu", {"json": {**RICH_MENU, "chatBarText": "x" * 15}}, "too long"),
        ("DELETE", "/v2/bot/followers/ids", {}, "is not an operation"),
        (
            "GET",
            "/v2/bot/info",
            {"headers": {"Authorization": ""}},
            "no Bearer channel access token",
        ),
    ],
)
def test_the_spec_check_catches_what_line_would_refuse(method, url, kwargs, problem):
    options = dict(kwargs)
    headers = {**AUTH, **options.pop("headers", {})}
    request = requests.Request(method, API + url, headers=headers, **options).prepare()
    with pytest.raises(SpecViolation, match=re.escape(problem)):
        line_spec().check(request, BASE_URLS)


def test_missing_spec_files_fail_loudly(monkeypatch, tmp_path):
    monkeypatch.setenv("LINE_OPENAPI_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="LINE_OPENAPI_DIR"):
        spec_dir()


def test_only_the_sending_endpoints_use_retry_keys():
    with_key = {endpoint.path for endpoint in ep.ALL if endpoint.retry is ep.RetryPolicy.RETRY_KEY}
    declared = {
        operation.template
        for operation in line_spec().operations
        if any(p["name"] == "X-Line-Retry-Key" for p in operation.parameters)
    }
    assert with_key == declared


@pytest.mark.parametrize(
    ("method", "kwargs"), CALLS, ids=[f"{name}-{i}" for i, (name, _) in enumerate(CALLS)]
)
def test_request_matches_lines_spec_and_result_keeps_the_request_id(client, method, kwargs):
    adapter = install(client, responder=answer_by_operation)

    result = getattr(client, method)(**kwargs)

    assert len(adapter.requests) == 1
    results = result if isinstance(result, list) else [result]
    assert results
    for item in results:
        assert item.request_id == REQUEST_ID
    if isinstance(result, Content):
        with result:
            assert b"".join(result.iter_bytes(chunk_size=16)) == PNG


def test_every_endpoint_is_exercised_by_the_spec_test(client):
    adapter = install(client, responder=answer_by_operation)
    for method, kwargs in CALLS:
        getattr(client, method)(**kwargs)
    sent = {
        (
            request.method,
            _normalised(line_spec().find(request.method, urlsplit(request.url).path)[0].template),
        )
        for request in adapter.requests
    }
    assert sent == {(endpoint.method, _normalised(endpoint.path)) for endpoint in ep.ALL}


def test_typed_results_carry_lines_fields(client):
    install(client, responder=answer_by_operation)

    profile = client.profile(user_id=USER)
    assert (profile.user_id, profile.display_name, profile.language) == (USER, "LINE taro", "ja")
    assert profile.picture_url is None
    sent = client.push(to=USER, messages=[TEXT])
    assert sent.sent_messages[0].id == "461230966842064897"
    assert sent.sent_messages[0].quote_token == "IStG5h1Tz7b"
    assert not sent.already_accepted
    assert sent.effective_request_id == REQUEST_ID
    progress = client.narrowcast_progress(request_id=REQUEST_ID)
    assert progress.is_finished and progress.success_count == 98
    assert progress.accepted_time == dt.datetime(2020, 12, 3, 10, 15, 30, 121000, tzinfo=dt.UTC)
    quota = client.quota()
    assert (quota.type, quota.value) == ("limited", 1000)
    assert client.quota_consumption().total_usage == 500
    menu = client.rich_menu_get(rich_menu_id="richmenu-1")
    assert (menu.width, menu.height, menu.chat_bar_text) == (2500, 843, "Menu")
    assert menu.areas[0]["action"]["type"] == "postback"
    audience = client.audience_get(audience_group_id=1234567890123)
    assert audience.status == "READY" and audience.jobs[0]["jobStatus"] == "FINISHED"
    assert audience.created == dt.datetime.fromtimestamp(1613698278, tz=dt.UTC)
    assert client.insight_message_deliveries(date=dt.date(2026, 1, 2)).counts["apiPush"] == 10


def test_validate_rejects_an_unknown_kind_before_calling_line(client):
    adapter = install(client, responder=answer_by_operation)
    with pytest.raises(ValueError, match="kind must be one of"):
        client.messages_validate(kind="pushes", messages=[TEXT])
    assert adapter.requests == []


def test_path_parameters_are_escaped(client):
    adapter = install(client, responder=answer_by_operation)
    client.rich_menu_alias_get(alias_id="../info")
    client.rich_menu_alias_get(alias_id="a b?c")
    assert [request.path_url for request in adapter.requests] == [
        "/v2/bot/richmenu/alias/..%2Finfo",
        "/v2/bot/richmenu/alias/a%20b%3Fc",
    ]


def test_follower_ids_iter_walks_every_page(client):
    pages = {
        None: {"userIds": [USER], "next": "page-2"},
        "page-2": {"userIds": [USER_2], "next": "page-3"},
        "page-3": {"userIds": []},
    }

    def respond(request):
        query = dict(parse_qsl(urlsplit(request.url).query))
        return line_response(request, 200, pages[query.get("start")])

    adapter = install(client, responder=respond)

    assert list(client.follower_ids_iter(limit=2)) == [USER, USER_2]
    assert len(adapter.requests) == 3


LINE_ERROR = {
    "message": "The request body has 2 error(s)",
    "details": [
        {"message": "May not be empty", "property": "messages[0].text"},
        {"message": "Must be one of the following values: [text, image]", "property": "type"},
    ],
}


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, LineBadRequest),
        (401, LineUnauthorized),
        (403, LineForbidden),
        (404, LineNotFound),
        (409, LineConflict),
        (413, LineRequestTooLarge),
        (429, LineRateLimited),
        (500, LineServerError),
        (503, LineServerError),
        (418, LineApiError),
    ],
)
def test_error_statuses_map_to_one_exception_hierarchy(status, error_class):
    client = make_client(max_retries=0)
    install(client, responder=scripted((status, LINE_ERROR)))

    with pytest.raises(error_class) as caught:
        client.profile(user_id=USER)

    error = caught.value
    assert isinstance(error, LineApiError)
    assert error.status == status
    assert error.message == "The request body has 2 error(s)"
    assert error.details == [
        ErrorDetail("May not be empty", "messages[0].text"),
        ErrorDetail("Must be one of the following values: [text, image]", "type"),
    ]
    assert error.request_id == REQUEST_ID
    assert error.headers["x-line-request-id"] == REQUEST_ID
    text = str(error)
    assert str(status) in text and "messages[0].text: May not be empty" in text
    assert REQUEST_ID in text and "/v2/bot/profile/{user_id}" in text
    assert TOKEN not in text and TOKEN not in repr(error) and USER not in text


@pytest.mark.parametrize(
    "error",
    [
        LineRateLimited(429, "You have reached your monthly limit.", [], "r1", None, {}),
        LineBadRequest(400, "bad", [ErrorDetail("May not be empty", "messages[0].text")], "r2"),
        LineTimeout("api.line.me did not answer within 10.0 s", endpoint="/v2/bot/info"),
    ],
)
def test_errors_survive_pickling_for_celery(error):
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.details == error.details
    assert copy.request_id == error.request_id


def test_the_client_needs_no_django_settings():
    code = (
        "import sys; from linebot.client import LineClient; "
        "LineClient(access_token='t', api_base='http://a', api_data_base='http://b'); "
        "assert 'django.conf' not in sys.modules, 'linebot.client imported Django'"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO_ROOT)


def test_an_error_without_a_json_body_still_says_what_happened():
    client = make_client(max_retries=0)

    def respond(request):
        response = line_response(request, 502)
        response._content = b"<html>Bad Gateway</html>"
        return response

    install(client, responder=respond)
    with pytest.raises(LineServerError, match="502 Bad Gateway"):
        client.bot_info()


def test_a_send_is_retried_on_5xx_with_the_same_generated_retry_key(client):
    adapter = install(client, responder=scripted((500, {"message": "x"}), (502, {}), (200, SENT)))

    result = client.push(to=USER, messages=[TEXT])

    keys = retry_keys(adapter)
    assert len(keys) == 3 and len(set(keys)) == 1
    assert uuid.UUID(keys[0]) and result.retry_key == keys[0]
    assert result.sent_messages[0].id == "461230966842064897"


def test_a_given_retry_key_is_sent_on_every_attempt(client):
    adapter = install(client, responder=scripted((500, {}), (200, {})))

    result = client.multicast(to=[USER], messages=[TEXT], retry_key=uuid.UUID(RETRY_KEY))

    assert retry_keys(adapter) == [RETRY_KEY, RETRY_KEY]
    assert result.retry_key == RETRY_KEY


def test_a_retry_key_that_is_no_uuid_is_refused_before_sending(client):
    adapter = install(client, responder=answer_by_operation)
    with pytest.raises(ValueError):
        client.broadcast(messages=[TEXT], retry_key="campaign-1-batch-2")
    assert adapter.requests == []


def test_each_send_gets_its_own_generated_retry_key(client):
    adapter = install(client, responder=answer_by_operation)
    client.broadcast(messages=[TEXT])
    client.broadcast(messages=[TEXT])
    first, second = retry_keys(adapter)
    assert first != second


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_client_errors_are_never_retried(client, status):
    adapter = install(client, responder=scripted((status, LINE_ERROR), (200, SENT)))
    with pytest.raises(LineApiError):
        client.push(to=USER, messages=[TEXT])
    assert len(adapter.requests) == 1


def test_a_409_on_the_retry_key_means_already_sent():
    client = make_client()
    accepted = "8bc97a8d-3c1f-4e8e-9df4-1f2a3b4c5d6e"
    adapter = install(
        client,
        responder=scripted(
            (
                409,
                {"message": "The retry key is already accepted", **SENT},
                {"x-line-accepted-request-id": accepted},
            )
        ),
    )

    result = client.push(to=USER, messages=[TEXT], retry_key=RETRY_KEY)

    assert isinstance(result, SendResult)
    assert result.already_accepted
    assert result.accepted_request_id == accepted
    assert result.effective_request_id == accepted
    assert result.request_id == REQUEST_ID
    assert result.sent_messages[0].id == "461230966842064897"
    assert len(adapter.requests) == 1


def test_a_409_after_a_retried_5xx_completes_the_send(client):
    adapter = install(
        client,
        responder=scripted(
            (500, {}),
            (
                409,
                {"message": "The retry key is already accepted"},
                {"x-line-accepted-request-id": "first"},
            ),
        ),
    )
    result = client.narrowcast(messages=[TEXT])
    assert result.effective_request_id == "first"
    assert len(set(retry_keys(adapter))) == 1


def test_a_409_on_the_retry_key_without_the_header_is_still_sent(client):
    install(client, responder=scripted((409, {"message": "The retry key is already accepted"})))
    result = client.broadcast(messages=[TEXT], retry_key=RETRY_KEY)
    assert result.already_accepted and result.accepted_request_id is None
    assert result.effective_request_id == REQUEST_ID


def test_another_409_on_a_send_is_an_error(client):
    install(client, responder=scripted((409, {"message": "Conflict"})))
    with pytest.raises(LineConflict):
        client.push(to=USER, messages=[TEXT])


def test_a_409_on_an_endpoint_without_retry_key_is_an_error(client):
    install(client, responder=scripted((409, {"message": "An alias with the ID already exists"})))
    with pytest.raises(LineConflict, match="already exists"):
        client.rich_menu_alias_create(alias_id="page-2", rich_menu_id="richmenu-1")


def test_the_rate_limit_is_retried_but_the_monthly_limit_is_not(client):
    rate = {"message": "The API rate limit has been exceeded. Try again later."}
    adapter = install(client, responder=scripted((429, rate), (429, rate), (200, SENT)))
    client.push(to=USER, messages=[TEXT])
    assert len(adapter.requests) == 3

    monthly = {"message": "You have reached your monthly limit."}
    adapter = install(client, responder=scripted((429, monthly), (200, SENT)))
    with pytest.raises(LineRateLimited) as caught:
        client.push(to=USER, messages=[TEXT])
    assert caught.value.is_monthly_limit
    assert len(adapter.requests) == 1


def test_retries_stop_after_max_retries():
    client = make_client(max_retries=2)
    adapter = install(client, responder=scripted(*[(503, {"message": "busy"})] * 5))
    with pytest.raises(LineServerError, match="503 busy"):
        client.quota()
    assert len(adapter.requests) == 3


def test_reply_is_not_retried_once_line_answered(client):
    adapter = install(client, responder=scripted((500, {}), (200, SENT)))
    with pytest.raises(LineServerError):
        client.reply(reply_token="token", messages=[TEXT])
    assert len(adapter.requests) == 1


def test_creating_is_not_retried_once_line_answered(client):
    adapter = install(client, responder=scripted((500, {}), (200, {"richMenuId": "r"})))
    with pytest.raises(LineServerError):
        client.rich_menu_create(rich_menu=RICH_MENU)
    assert len(adapter.requests) == 1


def test_idempotent_writes_are_retried(client):
    adapter = install(client, responder=scripted((500, {}), (200, {})))
    assert isinstance(client.rich_menu_user_link(user_id=USER, rich_menu_id="r"), Ack)
    assert len(adapter.requests) == 2


def test_log_lines_name_the_endpoint_not_the_token_or_the_user(client, caplog):
    caplog.set_level(logging.DEBUG, logger="linebot.client")
    install(client, responder=scripted((500, {}), (404, {"message": "Not found"})))

    with pytest.raises(LineNotFound):
        client.profile(user_id=USER)

    assert "/v2/bot/profile/{user_id}" in caplog.text and REQUEST_ID in caplog.text
    assert USER not in caplog.text and TOKEN not in caplog.text


def test_the_session_carries_the_token_and_every_call_a_timeout(client):
    seen = {}

    class Recorder(SpecCheckingAdapter):
        def send(self, request, **kwargs):
            seen["timeout"] = kwargs.get("timeout")
            return super().send(request, **kwargs)

    adapter = Recorder(base_urls=client.base_urls, responder=answer_by_operation)
    client.session.mount("https://", adapter)
    client.bot_info()
    assert adapter.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen["timeout"] == (2.0, 2.0)
    assert TOKEN not in repr(client)


def test_client_for_channel_reuses_one_client_and_session_per_channel(settings):
    settings.LINE_PLATFORMS = {
        "sandbox": {"api": API, "api_data": API_DATA, "access": API},
        "line": {
            "api": "https://api.line.me",
            "api_data": "https://api-data.line.me",
            "access": "https://access.line.me",
        },
    }
    settings.LINE_API_TIMEOUT = 4.5
    channel = Channel(pk=101, access_token="token-a", platform="sandbox")
    other = Channel(pk=102, access_token="token-a", platform="sandbox")

    first = client_for_channel(channel)
    assert client_for_channel(channel) is first
    assert client_for_channel(Channel(pk=101, access_token="token-a", platform="sandbox")) is first
    assert first.session is client_for_channel(channel).session
    assert first.timeout == 4.5
    assert first.base_urls == {ep.Host.API: API, ep.Host.API_DATA: API_DATA}
    assert client_for_channel(other) is not first

    channel.access_token = "token-b"
    rotated = client_for_channel(channel)
    assert rotated is not first
    assert rotated.session.headers["Authorization"] == "Bearer token-b"
    assert client_for_channel(channel) is rotated

    channel.platform = "line"
    assert client_for_channel(channel).base_urls[ep.Host.API] == "https://api.line.me"
