"""The Messaging API endpoints the product uses, as data.

Each endpoint says its method, path template, which LINE host serves it and when a failed call
may be sent again. The client reads these instead of spelling paths inline, and the tests check
every one against LINE's OpenAPI description, so a typo in a path cannot hide.
"""

import enum
from dataclasses import dataclass
from urllib.parse import quote


class Host(enum.StrEnum):
    """Which base URL serves an endpoint: most are on ``api``, binary content on ``api_data``."""

    API = "api"
    API_DATA = "api_data"


class RetryPolicy(enum.Enum):
    """When a failed call may be repeated without doing its work twice."""

    # Reading, or setting a state to a given value: repeating it changes nothing.
    SAFE = "safe"
    # Sending messages: repeatable only because every attempt carries the same X-Line-Retry-Key,
    # which makes LINE answer 409 instead of sending twice.
    RETRY_KEY = "retry_key"
    # Creates something or spends a single-use token (reply): repeat only when the connection
    # could not even be opened, so the request certainly never reached LINE.
    CONNECT_ONLY = "connect_only"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One operation of the LINE platform."""

    method: str
    path: str
    retry: RetryPolicy = RetryPolicy.SAFE
    host: Host = Host.API

    def url(self, base_urls: dict[Host, str], **params: str | int) -> str:
        """The absolute URL, with path parameters filled in (escaped: they may be typed ids)."""
        escaped = {name: quote(str(value), safe="") for name, value in params.items()}
        return base_urls[self.host] + self.path.format(**escaped)


MAX_MESSAGES_PER_REQUEST = 5
MAX_MULTICAST_RECIPIENTS = 500
MAX_BULK_RICH_MENU_USERS = 500
MAX_AUDIENCE_IDS_PER_JSON_REQUEST = 10_000
MAX_FOLLOWER_IDS_PER_PAGE = 1000

_SAFE, _KEY, _CONNECT = RetryPolicy.SAFE, RetryPolicy.RETRY_KEY, RetryPolicy.CONNECT_ONLY

# Sending
REPLY = Endpoint("POST", "/v2/bot/message/reply", _CONNECT)
PUSH = Endpoint("POST", "/v2/bot/message/push", _KEY)
MULTICAST = Endpoint("POST", "/v2/bot/message/multicast", _KEY)
NARROWCAST = Endpoint("POST", "/v2/bot/message/narrowcast", _KEY)
NARROWCAST_PROGRESS = Endpoint("GET", "/v2/bot/message/progress/narrowcast")
BROADCAST = Endpoint("POST", "/v2/bot/message/broadcast", _KEY)
# Validation has no side effect, so it is as safe to repeat as a GET.
VALIDATE_MESSAGES = {
    kind: Endpoint("POST", f"/v2/bot/message/validate/{kind}")
    for kind in ("reply", "push", "multicast", "narrowcast", "broadcast")
}
QUOTA = Endpoint("GET", "/v2/bot/message/quota")
QUOTA_CONSUMPTION = Endpoint("GET", "/v2/bot/message/quota/consumption")

# Users and the bot
PROFILE = Endpoint("GET", "/v2/bot/profile/{user_id}")
FOLLOWER_IDS = Endpoint("GET", "/v2/bot/followers/ids")
BOT_INFO = Endpoint("GET", "/v2/bot/info")
MESSAGE_CONTENT = Endpoint("GET", "/v2/bot/message/{message_id}/content", host=Host.API_DATA)
LINK_TOKEN_ISSUE = Endpoint("POST", "/v2/bot/user/{user_id}/linkToken", _CONNECT)

# Rich menus
RICH_MENU_CREATE = Endpoint("POST", "/v2/bot/richmenu", _CONNECT)
RICH_MENU_VALIDATE = Endpoint("POST", "/v2/bot/richmenu/validate")
RICH_MENU_LIST = Endpoint("GET", "/v2/bot/richmenu/list")
RICH_MENU_GET = Endpoint("GET", "/v2/bot/richmenu/{rich_menu_id}")
RICH_MENU_DELETE = Endpoint("DELETE", "/v2/bot/richmenu/{rich_menu_id}")
# An image cannot be replaced: a repeated upload after a lost answer would fail, not duplicate,
# but it would hide whether the first one worked, so only unopened connections are retried.
RICH_MENU_IMAGE_UPLOAD = Endpoint(
    "POST", "/v2/bot/richmenu/{rich_menu_id}/content", _CONNECT, Host.API_DATA
)
RICH_MENU_IMAGE_DOWNLOAD = Endpoint(
    "GET", "/v2/bot/richmenu/{rich_menu_id}/content", host=Host.API_DATA
)
# Setting the default or a user's menu to a given id is idempotent, though it is a POST.
RICH_MENU_DEFAULT_SET = Endpoint("POST", "/v2/bot/user/all/richmenu/{rich_menu_id}")
RICH_MENU_DEFAULT_GET = Endpoint("GET", "/v2/bot/user/all/richmenu")
RICH_MENU_DEFAULT_CANCEL = Endpoint("DELETE", "/v2/bot/user/all/richmenu")
RICH_MENU_USER_GET = Endpoint("GET", "/v2/bot/user/{user_id}/richmenu")
RICH_MENU_USER_LINK = Endpoint("POST", "/v2/bot/user/{user_id}/richmenu/{rich_menu_id}")
RICH_MENU_USER_UNLINK = Endpoint("DELETE", "/v2/bot/user/{user_id}/richmenu")
RICH_MENU_BULK_LINK = Endpoint("POST", "/v2/bot/richmenu/bulk/link")
RICH_MENU_BULK_UNLINK = Endpoint("POST", "/v2/bot/richmenu/bulk/unlink")
RICH_MENU_ALIAS_CREATE = Endpoint("POST", "/v2/bot/richmenu/alias", _CONNECT)
RICH_MENU_ALIAS_GET = Endpoint("GET", "/v2/bot/richmenu/alias/{alias_id}")
RICH_MENU_ALIAS_UPDATE = Endpoint("POST", "/v2/bot/richmenu/alias/{alias_id}")
RICH_MENU_ALIAS_DELETE = Endpoint("DELETE", "/v2/bot/richmenu/alias/{alias_id}")
RICH_MENU_ALIAS_LIST = Endpoint("GET", "/v2/bot/richmenu/alias/list")
# The batch is limited to 3 requests an hour and is resumed by its own resumeRequestKey.
RICH_MENU_BATCH = Endpoint("POST", "/v2/bot/richmenu/batch", _CONNECT)
RICH_MENU_BATCH_VALIDATE = Endpoint("POST", "/v2/bot/richmenu/validate/batch")
RICH_MENU_BATCH_PROGRESS = Endpoint("GET", "/v2/bot/richmenu/progress/batch")

# Audiences
AUDIENCE_CREATE = Endpoint("POST", "/v2/bot/audienceGroup/upload", _CONNECT)
AUDIENCE_ADD = Endpoint("PUT", "/v2/bot/audienceGroup/upload")
AUDIENCE_CREATE_BY_FILE = Endpoint(
    "POST", "/v2/bot/audienceGroup/upload/byFile", _CONNECT, Host.API_DATA
)
AUDIENCE_GET = Endpoint("GET", "/v2/bot/audienceGroup/{audience_group_id}")
AUDIENCE_LIST = Endpoint("GET", "/v2/bot/audienceGroup/list")
AUDIENCE_DELETE = Endpoint("DELETE", "/v2/bot/audienceGroup/{audience_group_id}")

# Insight
INSIGHT_FOLLOWERS = Endpoint("GET", "/v2/bot/insight/followers")
INSIGHT_MESSAGE_DELIVERIES = Endpoint("GET", "/v2/bot/insight/message/delivery")

# Webhook settings
WEBHOOK_ENDPOINT_GET = Endpoint("GET", "/v2/bot/channel/webhook/endpoint")
WEBHOOK_ENDPOINT_SET = Endpoint("PUT", "/v2/bot/channel/webhook/endpoint")
WEBHOOK_ENDPOINT_TEST = Endpoint("POST", "/v2/bot/channel/webhook/test")

ALL: tuple[Endpoint, ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, Endpoint)
) + tuple(VALIDATE_MESSAGES.values())
