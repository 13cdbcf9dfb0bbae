"""LINE message objects as the chat elements a friend sees in the LINE app.

One renderer per message type. Renderers read fields defensively (`values.text`, `mapping`,
`items`) because the preview runs on drafts and on whatever LINE users send: checking a message
is the validator's job, showing as much of it as possible is this module's.
"""

import re
from collections.abc import Callable

from markupsafe import Markup

from .actions import action_attrs, action_label
from .flex import render_flex
from .markup import css, failsafe, render, tag, unsupported
from .values import color, identifier, integer, items, mapping, text, web_url

STICKER_URL = "https://stickershop.line-scdn.net/stickershop/v1/sticker/{}/android/sticker.png"
EMOJI_URL = "https://stickershop.line-scdn.net/sticonshop/v1/sticon/{}/android/{}.png"

# Links in text end before whitespace and before trailing punctuation that ends a sentence.
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'\u3000-\u303f]+[^\s<>\"'\u3000-\u303f.,;:!?)\]]")
_PLACEHOLDER = re.compile(r"\{([0-9A-Za-z_]{1,20})\}")

# Icons LINE draws on quick reply chips for actions that need no image.
_CHIP_GLYPHS = {"camera": "\U0001f4f7", "cameraRoll": "\U0001f5bc", "location": "\U0001f4cd"}


def render_messages(messages: object, *, sent: bool = False) -> Markup:
    """A list of message objects as one chat on LINE's chat background, received side.

    LINE shows quick reply buttons only while their message is the last one in the chat, so
    only the last message's are drawn.
    """
    messages = items(messages)
    return tag(
        "div",
        [
            render_message(message, sent=sent, quick_reply=index == len(messages) - 1)
            for index, message in enumerate(messages)
        ],
        class_="lp-chat",
    )


@failsafe
def render_message(message: object, *, sent: bool = False, quick_reply: bool = True) -> Markup:
    """One message object, with its sender and (unless told not to) quick reply.

    Received side (the friend's view of the account's messages) unless `sent`, which shows it
    right-aligned in LINE's green as the sender sees it (a user's message in a staff timeline).
    """
    message = mapping(message)
    kind = text(message.get("type"))
    renderer = _RENDERERS.get(kind)
    body = renderer(message) if renderer else unsupported("message type", kind)
    return tag(
        "div",
        [
            _sender(mapping(message.get("sender"))),
            body,
            _quick_reply(message) if quick_reply else "",
        ],
        class_=f"lp-message lp-message-{kind if renderer else 'unsupported'}"
        + (" lp-sent" if sent else ""),
    )


def _sender(sender: dict) -> Markup:
    name = text(sender.get("name"))
    if not name:
        return Markup("")
    icon = web_url(sender.get("iconUrl"))
    avatar = tag("img", class_="lp-sender-icon", src=icon, alt="") if icon else ""
    return tag("div", [avatar, tag("span", name)], class_="lp-sender")


def _quick_reply(message: dict) -> Markup:
    chips = []
    for item in items(mapping(message.get("quickReply")).get("items")):
        action = mapping(mapping(item).get("action"))
        icon = web_url(mapping(item).get("imageUrl"))
        glyph = _CHIP_GLYPHS.get(text(action.get("type")))
        if icon:
            leading = tag("img", class_="lp-chip-icon", src=icon, alt="")
        else:
            leading = tag("span", glyph, class_="lp-chip-glyph") if glyph else ""
        chips.append(
            tag(
                "a",
                [leading, tag("span", action_label(action))],
                class_="lp-chip lp-action",
                attrs=action_attrs(action, linked=False),
            )
        )
    if not chips:
        return Markup("")
    return tag("div", chips, class_="lp-quickreply")


def _text(message: dict) -> Markup:
    """Text with LINE emojis and mentions.

    Messages sent through the API mark each emoji with a `$` at `index`; messages received in
    webhooks give the emoji's `index` and `length` in the text (such as `(love)`), and mention
    their mentionees the same way.
    """
    content = text(message.get("text"))
    offsets = _utf16_offsets(content)
    spans: dict[int, tuple[int, Markup]] = {}
    for emoji in items(message.get("emojis")):
        emoji = mapping(emoji)
        start, end = _span(offsets, emoji, default_length=1)
        if start is not None and ("length" in emoji or content[start:end] == "$"):
            spans[start] = (end, _emoji(emoji))
    for mentionee in items(mapping(message.get("mention")).get("mentionees")):
        start, end = _span(offsets, mapping(mentionee), default_length=0)
        if start is not None and end > start:
            spans[start] = (end, tag("span", content[start:end], class_="lp-mention"))
    return tag("div", _with_spans(content, spans), class_="lp-balloon lp-text-message")


def _text_v2(message: dict) -> Markup:
    """`textV2`: `{key}` placeholders replaced by emojis and mentions from `substitution`."""
    content = text(message.get("text"))
    substitution = mapping(message.get("substitution"))
    parts: list[Markup] = []
    last = 0
    for match in _PLACEHOLDER.finditer(content):
        value = substitution.get(match[1])
        if not isinstance(value, dict):
            continue
        parts.append(_linkify(content[last : match.start()]))
        parts.append(_substitute(value))
        last = match.end()
    parts.append(_linkify(content[last:]))
    return tag("div", parts, class_="lp-balloon lp-text-message")


def _substitute(value: dict) -> Markup:
    if value.get("type") == "emoji":
        return _emoji(value)
    mentionee = mapping(value.get("mentionee"))
    name = "@All" if mentionee.get("type") == "all" else "@user"
    return tag("span", name, class_="lp-mention")


def _utf16_offsets(content: str) -> dict[int, int]:
    """LINE counts `index` and `length` in UTF-16 code units; map those to string indexes."""
    offsets: dict[int, int] = {}
    unit = 0
    for position, char in enumerate(content):
        offsets[unit] = position
        unit += 2 if ord(char) > 0xFFFF else 1
    offsets[unit] = len(content)
    return offsets


def _span(offsets: dict[int, int], marker: dict, *, default_length: int) -> tuple[int | None, int]:
    """Where an emoji or mention (`index`, `length`) sits in the text, as string indexes."""
    index, length = integer(marker.get("index")), integer(marker.get("length"))
    length = default_length if length is None else length
    if index is None or length < 0:
        return None, 0
    start, end = offsets.get(index), offsets.get(index + length)
    if start is None or end is None:
        return None, 0
    return start, end


def _with_spans(content: str, spans: dict[int, tuple[int, Markup]]) -> Markup:
    """The text with each span replaced by its markup; overlapping spans are skipped."""
    parts: list[Markup] = []
    last = 0
    for start in sorted(spans):
        end, markup = spans[start]
        if start < last:
            continue
        parts.append(_linkify(content[last:start]))
        parts.append(markup)
        last = end
    parts.append(_linkify(content[last:]))
    return render(parts)


def _emoji(emoji: dict) -> Markup:
    product, emoji_id = identifier(emoji.get("productId")), identifier(emoji.get("emojiId"))
    src = EMOJI_URL.format(product, emoji_id) if product and emoji_id else None
    return tag("img", class_="lp-emoji", src=src, alt="(emoji)")


def _linkify(content: str) -> Markup:
    """Plain text with line breaks kept and web addresses made into links, as LINE does."""
    parts: list[Markup] = []
    last = 0
    for match in _URL_IN_TEXT.finditer(content):
        parts.append(_lines(content[last : match.start()]))
        url = match[0]
        parts.append(
            tag("a", url, class_="lp-link", href=url, target="_blank", rel="noopener noreferrer")
        )
        last = match.end()
    parts.append(_lines(content[last:]))
    return render(parts)


def _lines(content: str) -> Markup:
    return Markup("<br>").join(render(line) for line in content.split("\n"))


def _sticker(message: dict) -> Markup:
    package, sticker = text(message.get("packageId")), text(message.get("stickerId"))
    sticker_id = identifier(sticker)
    src = STICKER_URL.format(sticker_id) if sticker_id else None
    picture = tag("img", src=src, alt=f"Sticker {package}/{sticker}", loading="lazy")
    return tag("div", picture, class_="lp-sticker")


def _content_urls(message: dict) -> tuple[str | None, str | None]:
    """Preview and full URLs of media content, sent or received from a user.

    Received content lives on LINE's servers unless `contentProvider` is external; a host that
    stored a copy puts its URLs on the message itself, which therefore win.
    """
    provider = mapping(message.get("contentProvider"))
    preview = message.get("previewImageUrl") or provider.get("previewImageUrl")
    original = message.get("originalContentUrl") or provider.get("originalContentUrl")
    return web_url(preview), web_url(original)


def _image(message: dict) -> Markup:
    preview, original = _content_urls(message)
    if not preview:
        return tag("div", "Image", class_="lp-media lp-media-missing")
    return _opens(original, [tag("img", src=preview, alt="Image", loading="lazy")], "lp-media")


def _video(message: dict) -> Markup:
    preview, original = _content_urls(message)
    picture = tag("img", src=preview, alt="Video", loading="lazy") if preview else ""
    play = tag("span", class_="lp-play", aria_hidden="true")
    return _opens(original, [picture, play], "lp-media lp-video")


def _audio(message: dict) -> Markup:
    seconds = max(integer(message.get("duration")) or 0, 0) // 1000
    content = [
        tag("span", class_="lp-audio-play", aria_hidden="true"),
        tag("span", class_="lp-audio-bar"),
        tag("span", f"{seconds // 60}:{seconds % 60:02d}", class_="lp-audio-time"),
    ]
    return _opens(_content_urls(message)[1], content, "lp-balloon lp-audio")


def _opens(url: str | None, content: list[Markup], classes: str) -> Markup:
    """An element that opens the content at `url` in a new tab, when there is one."""
    if url:
        return tag(
            "a", content, class_=classes, href=url, target="_blank", rel="noopener noreferrer"
        )
    return tag("div", content, class_=classes)


def _location(message: dict) -> Markup:
    return tag(
        "div",
        [
            tag("div", tag("span", class_="lp-pin"), class_="lp-location-map", aria_hidden="true"),
            tag(
                "div",
                [
                    tag(
                        "div", text(message.get("title")) or "Location", class_="lp-location-title"
                    ),
                    tag("div", text(message.get("address")), class_="lp-location-address"),
                ],
                class_="lp-location-text",
            ),
        ],
        class_="lp-card lp-location",
    )


def _imagemap(message: dict) -> Markup:
    """The image at LINE's 1040px width, with each tappable area laid over it to scale."""
    base = mapping(message.get("baseSize"))
    width, height = integer(base.get("width")), integer(base.get("height"))
    if not (width and height and width > 0 and height > 0):
        width = height = 1040
    base_url = web_url(message.get("baseUrl"))
    alt = text(message.get("altText")) or "Imagemap"
    layers = [tag("img", src=f"{base_url}/1040", alt=alt, loading="lazy") if base_url else ""]
    video = mapping(message.get("video"))
    if preview := web_url(video.get("previewImageUrl")):
        layers.append(
            tag(
                "div",
                [tag("img", src=preview, alt="Video"), tag("span", class_="lp-play")],
                class_="lp-imagemap-video",
                style=_area_style(mapping(video.get("area")), width, height),
            )
        )
    for action in items(message.get("actions")):
        action = mapping(action)
        layers.append(
            tag(
                "a",
                tag("span", action_label(action), class_="lp-imagemap-label"),
                class_="lp-imagemap-area lp-action",
                style=_area_style(mapping(action.get("area")), width, height),
                attrs=action_attrs(action, linked=False),
            )
        )
    return tag("div", layers, class_="lp-imagemap", style=f"aspect-ratio:{width} / {height}")


def _area_style(area: dict, width: int, height: int) -> str | None:
    """An area in base-size pixels as percentages, so the overlay scales with the image."""
    x, y = integer(area.get("x")), integer(area.get("y"))
    w, h = integer(area.get("width")), integer(area.get("height"))
    if None in (x, y, w, h):
        return None
    return css(
        {
            "left": f"{x / width * 100:.3f}%",
            "top": f"{y / height * 100:.3f}%",
            "width": f"{w / width * 100:.3f}%",
            "height": f"{h / height * 100:.3f}%",
        }
    )


def _template(message: dict) -> Markup:
    template = mapping(message.get("template"))
    kind = text(template.get("type"))
    if kind == "buttons":
        return _template_card(template, template)
    if kind == "confirm":
        return _confirm(template)
    if kind == "carousel":
        cards = [
            _template_card(mapping(column), template) for column in items(template.get("columns"))
        ]
        return tag("div", cards, class_="lp-carousel")
    if kind == "image_carousel":
        return tag(
            "div",
            [_image_column(mapping(column)) for column in items(template.get("columns"))],
            class_="lp-carousel",
        )
    return unsupported("template type", kind)


def _template_card(column: dict, template: dict) -> Markup:
    """A buttons template, or one carousel column (which takes image settings from the template)."""
    parts = []
    if thumbnail := web_url(column.get("thumbnailImageUrl")):
        fit = "contain" if template.get("imageSize") == "contain" else "cover"
        shape = "1:1" if template.get("imageAspectRatio") == "square" else "1.51:1"
        parts.append(
            tag(
                "div",
                tag("img", src=thumbnail, alt="", loading="lazy", style=f"object-fit:{fit}"),
                class_="lp-card-image",
                style=css(
                    {
                        "aspect-ratio": shape.replace(":", " / "),
                        "background-color": color(column.get("imageBackgroundColor")),
                    }
                ),
            )
        )
    title = text(column.get("title"))
    body = [tag("div", title, class_="lp-card-title") if title else ""]
    body.append(tag("div", text(column.get("text")), class_="lp-card-text"))
    parts.append(tag("div", body, class_="lp-card-body"))
    default = column.get("defaultAction")
    linked = isinstance(default, dict)
    parts.append(_action_list(items(column.get("actions")), "lp-card-actions", linked=linked))
    if linked:
        return tag(
            "a", parts, class_="lp-card lp-action", attrs=action_attrs(default, linked=False)
        )
    return tag("div", parts, class_="lp-card")


def _confirm(template: dict) -> Markup:
    return tag(
        "div",
        [
            tag("div", text(template.get("text")), class_="lp-card-body lp-confirm-text"),
            _action_list(
                items(template.get("actions")), "lp-card-actions lp-confirm-actions", linked=False
            ),
        ],
        class_="lp-card lp-confirm",
    )


def _action_list(actions: list, classes: str, *, linked: bool) -> Markup:
    """A template's action rows; inside a card that is itself a link they cannot be links."""
    return tag(
        "div",
        [
            tag(
                "span" if linked else "a",
                action_label(action),
                class_="lp-card-action lp-action",
                attrs=action_attrs(action, linked=linked),
            )
            for action in actions
        ],
        class_=classes,
    )


def _image_column(column: dict) -> Markup:
    action = mapping(column.get("action"))
    src = web_url(column.get("imageUrl"))
    label = action_label(action)
    return tag(
        "a",
        [
            tag("img", src=src, alt="", loading="lazy") if src else "",
            tag("span", label, class_="lp-image-column-label") if label else "",
        ],
        class_="lp-image-column lp-action",
        attrs=action_attrs(action, linked=False),
    )


def _flex(message: dict) -> Markup:
    """The container; the alt text (what notifications show) is its tooltip."""
    alt = text(message.get("altText")) or None
    return tag("div", render_flex(message.get("contents")), class_="lp-flex", title=alt)


def _file(message: dict) -> Markup:
    content = [
        tag("span", class_="lp-file-icon", aria_hidden="true"),
        tag(
            "span",
            [
                tag("span", text(message.get("fileName")) or "File", class_="lp-file-name"),
                tag("span", _file_size(message.get("fileSize")), class_="lp-file-size"),
            ],
            class_="lp-file-text",
        ),
    ]
    return _opens(_content_urls(message)[1], content, "lp-balloon lp-file")


def _file_size(size: object) -> str:
    """Bytes as the LINE app shows them (`12.3 KB`)."""
    size = integer(size)
    if size is None or size < 0:
        return ""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


_RENDERERS: dict[str, Callable[[dict], Markup]] = {
    "text": _text,
    "textV2": _text_v2,
    "sticker": _sticker,
    "image": _image,
    "video": _video,
    "audio": _audio,
    "location": _location,
    "imagemap": _imagemap,
    "template": _template,
    "flex": _flex,
    "file": _file,
}
