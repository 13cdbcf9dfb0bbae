"""Rich menus on LINE: image and area checks, LINE's rich menu object, sync, bulk link/unlink.

LINE never changes a rich menu nor its image once created. A menu changed in the admin is
therefore synced as a new LINE menu: the new one is created and its image uploaded, its aliases
and the channel default are moved to it, its users are moved by LINE's batch API, and the old
one is deleted once LINE says the batch is done (``RichMenu.retired_line_ids`` until then).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from . import endpoints as ep
from .client import client_for_channel
from .errors import LineApiError, LineNotFound, LineRateLimited
from .models import Channel, RichMenu, RichMenuAlias, RichMenuSyncStatus
from .validation import Problem, problem, validate_action

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 1024 * 1024
MIN_WIDTH, MAX_WIDTH, MIN_HEIGHT = 800, 2500, 250
MIN_ASPECT_RATIO = 1.45
MAX_AREAS = 20
MAX_CHAT_BAR_TEXT = 14
MAX_BULK_USERS = ep.MAX_BULK_RICH_MENU_USERS
IMAGE_TYPES = ("image/jpeg", "image/png")
ALIAS_ID = re.compile(r"^[a-z0-9_-]{1,32}$")
# Postback data that starts the account link (members.receivers handles it).
ACCOUNT_LINK_DATA = "crm:account-link"
# LINE answers bulk link/unlink at up to 2,000 requests a second per channel; stay well under it
# so that the per-user links made at the same time by other workers still fit.
BULK_REQUESTS_PER_SECOND = 100.0
BATCH_POLL_SECONDS = (0.2, 0.5, 1, 2, 3)

M_IMAGE_EMPTY = gettext_noop("Choose an image.")
M_IMAGE_TOO_BIG = gettext_noop("The image is %(size)s bytes; LINE accepts at most %(max)s (1 MB).")
M_IMAGE_FORMAT = gettext_noop("The image must be a JPEG or PNG file.")
M_IMAGE_WIDTH = gettext_noop("The image is %(width)s px wide; LINE needs 800 to 2500 px.")
M_IMAGE_HEIGHT = gettext_noop("The image is %(height)s px high; LINE needs at least 250 px.")
M_IMAGE_RATIO = gettext_noop(
    "The image is %(width)s×%(height)s px; its width divided by its height must be at least "
    "1.45 (e.g. 2500×1686 or 2500×843)."
)
M_SIZE = gettext_noop(
    "The menu is %(width)s×%(height)s px: width 800 to 2500, height at least 250, and width "
    "divided by height at least 1.45."
)
M_IMAGE_SIZE_MISMATCH = gettext_noop(
    "The image is %(width)s×%(height)s px but the menu is %(menu_width)s×%(menu_height)s px."
)
M_CHAT_BAR = gettext_noop("The chat bar text is required and may be at most 14 characters.")
M_AREAS_LIST = gettext_noop("Areas must be a list.")
M_TOO_MANY_AREAS = gettext_noop("A rich menu has at most %(max)s areas; this one has %(count)s.")
M_BOUNDS = gettext_noop("Give x, y, width and height as whole numbers of pixels.")
M_BOUNDS_OUTSIDE = gettext_noop(
    "The area (%(x)s, %(y)s, %(width)s×%(height)s) does not lie inside the "
    "%(menu_width)s×%(menu_height)s menu."
)
M_ALIAS_UNKNOWN = gettext_noop("There is no alias %(alias)s in this channel.")

ACTION_TYPES = {
    "postback": gettext_lazy("Postback (logged as a tap)"),
    "message": gettext_lazy("Send a message"),
    "uri": gettext_lazy("Open a URL"),
    "datetimepicker": gettext_lazy("Date and time picker"),
    "richmenuswitch": gettext_lazy("Switch to another menu (tab)"),
    "clipboard": gettext_lazy("Copy to the clipboard"),
    "account_link": gettext_lazy("Start the account link"),
}
# LINE allows camera, camera roll and location actions only in quick replies, not here.
NOT_IN_RICH_MENUS = ("camera", "cameraRoll", "location")


# ---------------------------------------------------------------------------------------------
# Checks


def image_info(data: bytes) -> tuple[str, int, int] | None:
    """``(content type, width, height)`` of a PNG or JPEG, read from its header; else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return "image/png", width, height
    if data.startswith(b"\xff\xd8"):
        offset = 2
        while offset + 9 < len(data):
            if data[offset] != 0xFF:
                return None
            marker = data[offset + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                offset += 2
                continue
            length = struct.unpack(">H", data[offset + 2 : offset + 4])[0]
            # Start-of-frame markers carry the size; C4, C8 and CC are other segments.
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
                return "image/jpeg", width, height
            offset += 2 + length
    return None


def image_problems(data: bytes) -> list[Problem]:
    """What LINE would refuse about a rich menu image (format, bytes, pixel size)."""
    if not data:
        return [problem("image", M_IMAGE_EMPTY)]
    problems = []
    if len(data) > MAX_IMAGE_BYTES:
        problems.append(problem("image", M_IMAGE_TOO_BIG, size=len(data), max=MAX_IMAGE_BYTES))
    info = image_info(data)
    if info is None:
        return [*problems, problem("image", M_IMAGE_FORMAT)]
    _type, width, height = info
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        problems.append(problem("image", M_IMAGE_WIDTH, width=width))
    if height < MIN_HEIGHT:
        problems.append(problem("image", M_IMAGE_HEIGHT, height=height))
    elif width / height < MIN_ASPECT_RATIO:
        problems.append(problem("image", M_IMAGE_RATIO, width=width, height=height))
    return problems


def size_ok(width: int, height: int) -> bool:
    return MIN_WIDTH <= width <= MAX_WIDTH and height >= MIN_HEIGHT and width / height >= 1.45


def area_action(action: dict) -> dict:
    """The LINE action of an editor action: ``account_link`` is a postback LINE understands."""
    if action.get("type") == "account_link":
        result = {"type": "postback", "data": ACCOUNT_LINK_DATA}
        if action.get("label"):
            result["label"] = action["label"]
        if action.get("displayText"):
            result["displayText"] = action["displayText"]
        return result
    return action


def areas_problems(
    areas, *, width: int, height: int, channel: Channel | None = None
) -> list[Problem]:
    """Problems of a list of areas, each with its JSON path (``areas[2].action.uri``)."""
    if not isinstance(areas, list):
        return [problem("areas", M_AREAS_LIST)]
    problems: list[Problem] = []
    if len(areas) > MAX_AREAS:
        problems.append(problem("areas", M_TOO_MANY_AREAS, max=MAX_AREAS, count=len(areas)))
    aliases = None
    if channel is not None:
        aliases = set(
            RichMenuAlias.objects.filter(channel=channel).values_list("alias_id", flat=True)
        )
    for index, area in enumerate(areas):
        path = f"areas[{index}]"
        bounds = area.get("bounds") if isinstance(area, dict) else None
        keys = ("x", "y", "width", "height")
        if not isinstance(bounds, dict) or not all(
            isinstance(bounds.get(k), int)
            and not isinstance(bounds.get(k), bool)
            and bounds[k] >= 0
            for k in keys
        ):
            problems.append(problem(f"{path}.bounds", M_BOUNDS))
        elif (
            bounds["width"] < 1
            or bounds["height"] < 1
            or bounds["x"] + bounds["width"] > width
            or bounds["y"] + bounds["height"] > height
        ):
            problems.append(
                problem(
                    f"{path}.bounds",
                    M_BOUNDS_OUTSIDE,
                    menu_width=width,
                    menu_height=height,
                    **bounds,
                )
            )
        action = area.get("action") if isinstance(area, dict) else None
        action = area_action(action) if isinstance(action, dict) else action
        problems.extend(validate_action(action, path=f"{path}.action", context="richmenu"))
        if (
            aliases is not None
            and isinstance(action, dict)
            and action.get("type") == "richmenuswitch"
            and action.get("richMenuAliasId")
            and action["richMenuAliasId"] not in aliases
        ):
            problems.append(
                problem(
                    f"{path}.action.richMenuAliasId",
                    M_ALIAS_UNKNOWN,
                    alias=action["richMenuAliasId"],
                )
            )
    return problems


def rich_menu_problems(menu: RichMenu) -> list[Problem]:
    """Everything LINE would refuse about a menu: size, chat bar text, areas, image."""
    problems: list[Problem] = []
    if not size_ok(menu.width, menu.height):
        problems.append(problem("size", M_SIZE, width=menu.width, height=menu.height))
    if not 1 <= len(menu.chat_bar_text or "") <= MAX_CHAT_BAR_TEXT:
        problems.append(problem("chatBarText", M_CHAT_BAR))
    channel = menu.channel if menu.channel_id else None
    problems.extend(
        areas_problems(menu.areas, width=menu.width, height=menu.height, channel=channel)
    )
    return problems


def image_read(menu: RichMenu) -> bytes:
    if not menu.image:
        return b""
    with menu.image.open("rb") as handle:
        return handle.read()


def image_size_problems(menu: RichMenu, data: bytes) -> list[Problem]:
    """The image's own problems, and whether it matches the menu's size."""
    problems = image_problems(data)
    info = image_info(data) if data else None
    if info and not problems and (info[1], info[2]) != (menu.width, menu.height):
        problems.append(
            problem(
                "image",
                M_IMAGE_SIZE_MISMATCH,
                width=info[1],
                height=info[2],
                menu_width=menu.width,
                menu_height=menu.height,
            )
        )
    return problems


# ---------------------------------------------------------------------------------------------
# Layouts: LINE's common grids, as fractions of the menu (x, y, width, height)

LAYOUTS: dict[str, tuple[str, str, tuple[tuple[float, float, float, float], ...]]] = {
    "large_6": (
        "large",
        gettext_noop("Large: 6 (3 × 2)"),
        tuple((c / 3, r / 2, 1 / 3, 1 / 2) for r in range(2) for c in range(3)),
    ),
    "large_4": (
        "large",
        gettext_noop("Large: 4 (2 × 2)"),
        tuple((c / 2, r / 2, 1 / 2, 1 / 2) for r in range(2) for c in range(2)),
    ),
    "large_1_2": (
        "large",
        gettext_noop("Large: 1 on top, 2 below"),
        (
            (0, 0, 1, 1 / 2),
            (0, 1 / 2, 1 / 2, 1 / 2),
            (1 / 2, 1 / 2, 1 / 2, 1 / 2),
        ),
    ),
    "large_1_3": (
        "large",
        gettext_noop("Large: 1 on top, 3 below"),
        (
            (0, 0, 1, 1 / 2),
            *((c / 3, 1 / 2, 1 / 3, 1 / 2) for c in range(3)),
        ),
    ),
    "large_2_1": (
        "large",
        gettext_noop("Large: 1 on the left, 2 on the right"),
        (
            (0, 0, 1 / 2, 1),
            (1 / 2, 0, 1 / 2, 1 / 2),
            (1 / 2, 1 / 2, 1 / 2, 1 / 2),
        ),
    ),
    "large_3_rows": (
        "large",
        gettext_noop("Large: 3 rows"),
        tuple((0, r / 3, 1, 1 / 3) for r in range(3)),
    ),
    "large_1": ("large", gettext_noop("Large: 1"), ((0, 0, 1, 1),)),
    "compact_3": (
        "compact",
        gettext_noop("Compact: 3 columns"),
        tuple((c / 3, 0, 1 / 3, 1) for c in range(3)),
    ),
    "compact_2": (
        "compact",
        gettext_noop("Compact: 2 columns"),
        (
            (0, 0, 1 / 2, 1),
            (1 / 2, 0, 1 / 2, 1),
        ),
    ),
    "compact_1_2": (
        "compact",
        gettext_noop("Compact: 1 wide, 1 narrow"),
        (
            (0, 0, 2 / 3, 1),
            (2 / 3, 0, 1 / 3, 1),
        ),
    ),
    "compact_1": ("compact", gettext_noop("Compact: 1"), ((0, 0, 1, 1),)),
}
SIZES = {"large": (2500, 1686), "compact": (2500, 843)}


def layout_areas(key: str, *, width: int, height: int) -> list[dict]:
    """The areas of a grid layout on a menu of this size, each with a placeholder postback."""
    cells = LAYOUTS[key][2]
    areas = []
    for index, (x, y, w, h) in enumerate(cells):
        left, top = round(x * width), round(y * height)
        right, bottom = round((x + w) * width), round((y + h) * height)
        areas.append(
            {
                "bounds": {"x": left, "y": top, "width": right - left, "height": bottom - top},
                "action": {"type": "postback", "data": f"area={index + 1}"},
            }
        )
    return areas


def layouts_for_editor() -> list[dict]:
    """Layouts as the area editor's script reads them (names translated)."""
    return [
        {"key": key, "size": size, "name": _(name), "cells": [list(cell) for cell in cells]}
        for key, (size, name, cells) in LAYOUTS.items()
    ]


# ---------------------------------------------------------------------------------------------
# LINE's rich menu object, and sync


def rich_menu_object(menu: RichMenu) -> dict:
    """The rich menu object LINE's create call takes."""
    return {
        "size": {"width": menu.width, "height": menu.height},
        "selected": menu.selected,
        "name": menu.name[:300],
        "chatBarText": menu.chat_bar_text,
        "areas": [
            {"bounds": dict(area["bounds"]), "action": area_action(dict(area["action"]))}
            for area in menu.areas
        ],
    }


def rich_menu_fingerprint(menu: RichMenu) -> str:
    """A digest of what a LINE menu is made of: its object and its image.

    Every upload is stored under a new name, so the name stands for the image's bytes: the
    admin's lists need not read every image to show the status.
    """
    made_of = {
        "size": [menu.width, menu.height],
        "selected": menu.selected,
        "name": menu.name,
        "chatBarText": menu.chat_bar_text,
        "areas": menu.areas,
        "image": menu.image.name or "",
    }
    return hashlib.sha256(json.dumps(made_of, sort_keys=True).encode()).hexdigest()


def rich_menu_status(menu: RichMenu) -> str:
    """Where the menu stands against LINE, from what we stored (no LINE call)."""
    if menu.sync_error:
        return RichMenuSyncStatus.FAILED
    if not menu.line_rich_menu_id:
        return RichMenuSyncStatus.DRAFT
    if menu.synced_fingerprint != rich_menu_fingerprint(menu):
        return RichMenuSyncStatus.OUT_OF_SYNC
    return RichMenuSyncStatus.SYNCED


class RichMenuSyncError(Exception):
    """The menu cannot be synced; ``problems`` say why."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in self.problems))


def _error_text(error: Exception) -> str:
    if isinstance(error, RichMenuSyncError):
        return "; ".join(f"{p.path}: {p.as_dict()['message']}" for p in error.problems)
    return str(error)


def rich_menu_sync(menu: RichMenu, *, force: bool = False) -> RichMenu:
    """Make LINE hold this menu as it is now; returns the menu with its LINE id stored.

    Unchanged menus that LINE still has are left alone (unless ``force``). On failure the
    error is stored on the menu and raised.
    """
    menu = RichMenu.objects.select_related("channel").get(pk=menu.pk)
    client = client_for_channel(menu.channel)
    try:
        image = image_read(menu)
        problems = rich_menu_problems(menu) + image_size_problems(menu, image)
        if problems:
            raise RichMenuSyncError(problems)
        fingerprint = rich_menu_fingerprint(menu)
        if menu.line_rich_menu_id and not force and menu.synced_fingerprint == fingerprint:
            try:
                client.rich_menu_get(rich_menu_id=menu.line_rich_menu_id)
                _retired_delete(menu)
                return _sync_saved(menu, error="")
            except LineNotFound:
                logger.warning("Rich menu %s is gone from LINE; creating it again", menu.pk)
        old_id = menu.line_rich_menu_id
        new_id = client.rich_menu_create(rich_menu=rich_menu_object(menu)).rich_menu_id
        try:
            client.rich_menu_image_upload(
                rich_menu_id=new_id, image=image, content_type=image_info(image)[0]
            )
        except LineApiError:
            # A menu without an image cannot be shown: do not leave it behind.
            _delete_quietly(client, new_id)
            raise
        menu.line_rich_menu_id = new_id
        menu.synced_fingerprint = fingerprint
        if old_id and old_id != new_id:
            menu.retired_line_ids = [*menu.retired_line_ids, {"id": old_id, "batch": ""}]
        _sync_saved(menu, error="")
        for alias in menu.aliases.all():
            alias_sync(alias)
        _retired_delete(menu, wait=True)
        return menu
    except (LineApiError, RichMenuSyncError) as error:
        _sync_saved(menu, error=_error_text(error), touch=False)
        raise


def _sync_saved(menu: RichMenu, *, error: str, touch: bool = True) -> RichMenu:
    menu.sync_error = error
    fields = ["sync_error"]
    if touch:
        menu.synced_at = timezone.now()
        fields += ["synced_at", "line_rich_menu_id", "synced_fingerprint", "retired_line_ids"]
    RichMenu.objects.filter(pk=menu.pk).update(**{f: getattr(menu, f) for f in fields})
    return menu


def _move_users(client, *, old_id: str, new_id: str) -> str:
    """Move every user of the old LINE menu to the new one with LINE's batch API; the batch's
    request id, or "" when LINE's 3 batches an hour are used up (try again later)."""
    operations = [{"type": "link", "from": old_id, "to": new_id}]
    try:
        return client.rich_menu_batch(operations=operations).request_id or ""
    except LineRateLimited:
        # The old menu stays (retired) and its users keep it until a later sync or repair
        # moves them, rather than losing their menu now.
        logger.warning("Rich menu batch rate limit reached; %s keeps its users for now", old_id)
        return ""


def _batch_finished(client, request_id: str, *, wait: bool) -> bool:
    for pause in BATCH_POLL_SECONDS if wait else (0,):
        try:
            phase = client.rich_menu_batch_progress(request_id=request_id).phase
        except LineNotFound:
            return True  # LINE keeps progress for 14 days only
        if phase != "ongoing":
            return True
        if wait:
            time.sleep(pause)
    return False


def _retired_entries(menu: RichMenu) -> list[dict]:
    return [
        entry if isinstance(entry, dict) else {"id": entry, "batch": ""}
        for entry in menu.retired_line_ids
    ]


def _retired_delete(menu: RichMenu, *, wait: bool = False) -> None:
    """Delete the LINE menus this one replaced, once LINE has moved their users to it.

    Users are moved first (by a batch, retried here if LINE's hourly limit stopped it), the
    default too; a menu whose batch is still running waits for the next sync or repair.
    """
    entries = _retired_entries(menu)
    if not entries:
        return
    client = client_for_channel(menu.channel)
    remaining = []
    for entry in entries:
        with contextlib.suppress(LineNotFound):
            if client.rich_menu_default_get().rich_menu_id == entry["id"]:
                client.rich_menu_default_set(rich_menu_id=menu.line_rich_menu_id)
        if not entry["batch"]:
            entry["batch"] = _move_users(client, old_id=entry["id"], new_id=menu.line_rich_menu_id)
        if not entry["batch"] or not _batch_finished(client, entry["batch"], wait=wait):
            remaining.append(entry)
            continue
        _delete_quietly(client, entry["id"])
    menu.retired_line_ids = remaining
    RichMenu.objects.filter(pk=menu.pk).update(retired_line_ids=remaining)


def _delete_quietly(client, line_id: str) -> None:
    with contextlib.suppress(LineNotFound):
        client.rich_menu_delete(rich_menu_id=line_id)


def rich_menu_delete(menu: RichMenu) -> None:
    """Delete the menu from LINE (its users see the default again); the row stays."""
    client = client_for_channel(menu.channel)
    for alias in menu.aliases.all():
        alias_delete(alias)
    for line_id in [menu.line_rich_menu_id, *(e["id"] for e in _retired_entries(menu))]:
        if line_id:
            _delete_quietly(client, line_id)
    RichMenu.objects.filter(pk=menu.pk).update(
        line_rich_menu_id="", synced_fingerprint="", retired_line_ids=[], synced_at=None
    )
    menu.line_rich_menu_id = ""


def alias_sync(alias: RichMenuAlias) -> RichMenuAlias:
    """Create the alias on LINE, or move it to its menu's current LINE id."""
    alias = RichMenuAlias.objects.select_related("rich_menu", "channel").get(pk=alias.pk)
    menu = alias.rich_menu
    try:
        if not menu.line_rich_menu_id:
            menu = rich_menu_sync(menu)
        client = client_for_channel(alias.channel)
        try:
            current = client.rich_menu_alias_get(alias_id=alias.alias_id).rich_menu_id
        except LineNotFound:
            client.rich_menu_alias_create(
                alias_id=alias.alias_id, rich_menu_id=menu.line_rich_menu_id
            )
        else:
            if current != menu.line_rich_menu_id:
                client.rich_menu_alias_update(
                    alias_id=alias.alias_id, rich_menu_id=menu.line_rich_menu_id
                )
    except (LineApiError, RichMenuSyncError) as error:
        RichMenuAlias.objects.filter(pk=alias.pk).update(sync_error=_error_text(error))
        raise
    alias.line_rich_menu_id = menu.line_rich_menu_id
    alias.synced_at = timezone.now()
    alias.sync_error = ""
    RichMenuAlias.objects.filter(pk=alias.pk).update(
        line_rich_menu_id=alias.line_rich_menu_id, synced_at=alias.synced_at, sync_error=""
    )
    return alias


def alias_delete(alias: RichMenuAlias) -> None:
    """Delete the alias from LINE (if it is there)."""
    with contextlib.suppress(LineNotFound):
        client_for_channel(alias.channel).rich_menu_alias_delete(alias_id=alias.alias_id)
    RichMenuAlias.objects.filter(pk=alias.pk).update(line_rich_menu_id="", synced_at=None)


def alias_status(alias: RichMenuAlias) -> str:
    if alias.sync_error:
        return RichMenuSyncStatus.FAILED
    if not alias.line_rich_menu_id:
        return RichMenuSyncStatus.DRAFT
    if alias.line_rich_menu_id != alias.rich_menu.line_rich_menu_id:
        return RichMenuSyncStatus.OUT_OF_SYNC
    return RichMenuSyncStatus.SYNCED


@dataclass
class SyncReport:
    """How a channel's menus and aliases on LINE compare with ours."""

    missing: list[RichMenu] = field(default_factory=list)  # ours, gone from LINE
    changed: list[RichMenu] = field(default_factory=list)  # edited since the last sync
    aliases_wrong: list[RichMenuAlias] = field(default_factory=list)
    unknown_line_ids: list[str] = field(default_factory=list)  # on LINE, not ours

    @property
    def in_sync(self) -> bool:
        return not (self.missing or self.changed or self.aliases_wrong)


def rich_menus_check(channel: Channel) -> SyncReport:
    """Ask LINE which menus and aliases it has, and compare (two LINE calls)."""
    client = client_for_channel(channel)
    on_line = {item.rich_menu_id for item in client.rich_menu_list()}
    aliases_on_line = {item.alias_id: item.rich_menu_id for item in client.rich_menu_alias_list()}
    report = SyncReport()
    known = set()
    for menu in RichMenu.objects.filter(channel=channel).exclude(line_rich_menu_id=""):
        known.add(menu.line_rich_menu_id)
        known.update(entry["id"] for entry in _retired_entries(menu))
        if menu.line_rich_menu_id not in on_line:
            menu.sync_error = menu.sync_error or _("The menu is no longer on LINE.")
            RichMenu.objects.filter(pk=menu.pk).update(sync_error=menu.sync_error)
            report.missing.append(menu)
        elif rich_menu_status(menu) == RichMenuSyncStatus.OUT_OF_SYNC or menu.retired_line_ids:
            # Edited since the last sync, or replaced menus whose users LINE has yet to move.
            report.changed.append(menu)
    for alias in RichMenuAlias.objects.filter(channel=channel).select_related("rich_menu"):
        target = alias.rich_menu.line_rich_menu_id
        if not target or aliases_on_line.get(alias.alias_id) != target:
            report.aliases_wrong.append(alias)
    report.unknown_line_ids = sorted(on_line - known)
    return report


def rich_menus_repair(channel: Channel) -> SyncReport:
    """Sync every menu and alias that ``rich_menus_check`` finds wrong; returns the new check."""
    report = rich_menus_check(channel)
    for menu in [*report.missing, *report.changed]:
        try:
            rich_menu_sync(menu, force=menu in report.missing)
        except (LineApiError, RichMenuSyncError):
            logger.exception("Repairing rich menu %s failed", menu.pk)
    for alias in report.aliases_wrong:
        try:
            alias_sync(alias)
        except (LineApiError, RichMenuSyncError):
            logger.exception("Repairing alias %s failed", alias.alias_id)
    return rich_menus_check(channel)


# ---------------------------------------------------------------------------------------------
# Linking menus to users


def rich_menu_default_apply(channel: Channel, menu: RichMenu | None) -> None:
    """Make ``menu`` LINE's default for the channel (None: cancel the API default)."""
    client = client_for_channel(channel)
    if menu is None:
        client.rich_menu_default_cancel()
        return
    if not menu.line_rich_menu_id:
        menu = rich_menu_sync(menu)
    client.rich_menu_default_set(rich_menu_id=menu.line_rich_menu_id)


def rich_menu_user_apply(channel: Channel, *, user_id: str, menu: RichMenu | None) -> None:
    """Show ``menu`` to one user at once (None: unlink, so the default shows)."""
    client = client_for_channel(channel)
    if menu is None:
        client.rich_menu_user_unlink(user_id=user_id)
        return
    if not menu.line_rich_menu_id:
        menu = rich_menu_sync(menu)
    client.rich_menu_user_link(user_id=user_id, rich_menu_id=menu.line_rich_menu_id)


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rich_menu_bulk_apply(
    channel: Channel,
    *,
    menu: RichMenu | None,
    user_ids: Sequence[str],
    on_batch: Callable[[Sequence[str]], None] | None = None,
    requests_per_second: float = BULK_REQUESTS_PER_SECOND,
) -> int:
    """Link ``menu`` to many users (None: unlink), 500 a request, paced under LINE's limit.

    ``on_batch(user_ids)`` runs after each accepted request, so a job can record progress and
    resume after a crash. A 429 the client gave up on is waited out and the batch repeated.
    Returns the number of requests made.
    """
    client = client_for_channel(channel)
    if menu is not None and not menu.line_rich_menu_id:
        menu = rich_menu_sync(menu)
    interval = 1.0 / requests_per_second if requests_per_second else 0.0
    calls = 0
    last = 0.0
    for batch in _chunks(list(user_ids), MAX_BULK_USERS):
        for attempt in range(6):
            wait = last + interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            last = time.monotonic()
            calls += 1
            try:
                if menu is None:
                    client.rich_menu_bulk_unlink(user_ids=batch)
                else:
                    client.rich_menu_bulk_link(rich_menu_id=menu.line_rich_menu_id, user_ids=batch)
                break
            except LineRateLimited as error:
                if error.is_monthly_limit or attempt == 5:
                    raise
                time.sleep(min(30.0, 2.0**attempt))
        if on_batch is not None:
            on_batch(batch)
    return calls


# ---------------------------------------------------------------------------------------------
# Tap statistics, provided by the app that logs taps (linebot does not know members)


class TapStats:
    """Where the admin gets tap counts; ``members`` installs the real one at start."""

    def per_area(self, menu: RichMenu) -> dict[int, int]:
        return {}

    def per_menu(self, menu_ids: Iterable[int]) -> dict[int, int]:
        return {}


tap_stats = TapStats()


def tap_stats_install(stats: TapStats) -> None:
    global tap_stats
    tap_stats = stats
