"""Flex Message containers as HTML laid out the way the LINE app lays them out.

LINE defines Flex layout in CSS flexbox terms, so each box becomes a flex container and each
component a flex item; what LINE adds on top (keyword scales, `flex` defaults that differ
between horizontal and vertical boxes, spacing that a child's margin overrides, start/end that
follow the bubble's direction) is translated here into inline styles. Start and end use CSS
logical properties, so `dir="rtl"` on a bubble mirrors it without a second code path.
Positions and sizes come from LINE's Flex Message layout reference; pixel values of keywords
are those of LINE's Flex Message Simulator (see `values`).
"""

from collections.abc import Callable

from markupsafe import Markup

from .actions import action_attrs, action_label
from .markup import css, failsafe, tag, unsupported
from .values import (
    BORDER_WIDTHS,
    FONT_SIZES,
    IMAGE_SIZES,
    SPACING,
    angle,
    color,
    integer,
    items,
    length,
    mapping,
    one_of,
    ratio,
    ratio_parts,
    text,
    web_url,
)

BUBBLE_SIZES = ("nano", "micro", "deca", "hecto", "kilo", "mega", "giga")
BLOCKS = ("header", "hero", "body", "footer")
LAYOUTS = ("vertical", "horizontal", "baseline")

ALIGN = {"start": "flex-start", "center": "center", "end": "flex-end"}
TEXT_ALIGN = {"start": "start", "center": "center", "end": "end"}
GRAVITY = {"top": "flex-start", "center": "center", "bottom": "flex-end"}
JUSTIFY = {
    value: value
    for value in (
        "flex-start",
        "center",
        "flex-end",
        "space-between",
        "space-around",
        "space-evenly",
    )
}
ALIGN_ITEMS = {value: value for value in ("flex-start", "center", "flex-end")}
DECORATION = {"underline": "underline", "line-through": "line-through", "none": "none"}


@failsafe
def render_flex(container: object) -> Markup:
    """A Flex container (bubble or carousel), or a whole Flex message, as LINE shows it."""
    container = mapping(container)
    if container.get("type") == "flex":
        container = mapping(container.get("contents"))
    kind = text(container.get("type"))
    if kind == "bubble":
        return _bubble(container)
    if kind == "carousel":
        bubbles = [_bubble(mapping(bubble)) for bubble in items(container.get("contents"))]
        return tag("div", bubbles, class_="lp-carousel lp-flex-carousel")
    return unsupported("Flex container", kind)


def _bubble(bubble: dict) -> Markup:
    size = text(bubble.get("size"))
    size = size if size in BUBBLE_SIZES else "mega"
    direction = "rtl" if bubble.get("direction") == "rtl" else "ltr"
    name, attrs, linked = _actionable("div", bubble, False)
    styles = mapping(bubble.get("styles"))
    present = [block for block in BLOCKS if isinstance(bubble.get(block), dict)]
    blocks = [
        _block(
            block,
            bubble[block],
            mapping(styles.get(block)),
            first=position == 0,
            before_footer="footer" in present and block == "body",
            linked=linked,
        )
        for position, block in enumerate(present)
    ]
    classes = f"lp-bubble lp-size-{size}" + (" lp-action" if attrs else "")
    return tag(name, blocks, class_=classes, dir=direction, attrs=attrs)


def _block(
    name: str,
    content: dict,
    style: dict,
    *,
    first: bool,
    before_footer: bool,
    linked: bool,
) -> Markup:
    separator = style.get("separator") is True and not first
    declarations = {
        "background-color": color(style.get("backgroundColor")),
        "border-top": (
            f"1px solid {color(style.get('separatorColor')) or '#d4d6da'}" if separator else None
        ),
    }
    classes = f"lp-block lp-block-{name}" + (" lp-before-footer" if before_footer else "")
    inner = _component(content, None, first=True, spacing=None, linked=linked)
    return tag("div", inner, class_=classes, style=css(declarations))


def _component(
    component: object, parent: str | None, *, first: bool, spacing: str | None, linked: bool
) -> Markup:
    """One component; `parent` is the enclosing box's layout, None for the root of a block."""
    component = mapping(component)
    kind = text(component.get("type"))
    renderer = _RENDERERS.get(kind)
    if renderer is None:
        return unsupported("component", kind)
    item = _item_style(component, parent, first, spacing) if parent else {}
    return renderer(component, item, linked)


def _item_style(component: dict, parent: str, first: bool, spacing: str | None) -> dict:
    """How a component sits in its parent box: flex share, margin and offsets."""
    kind = component.get("type")
    horizontal = parent != "vertical"
    absolute = component.get("position") == "absolute"
    style: dict[str, str | None] = {"flex": _flex(component, horizontal)}
    if not absolute and kind != "filler":
        margin = length(component.get("margin"), SPACING, percent=False)
        gap = margin if margin is not None else (None if first else spacing)
        style["margin-inline-start" if horizontal else "margin-top"] = gap
    style["position"] = "absolute" if absolute else None
    if absolute or component.get("position") == "relative":
        style["position"] = style["position"] or "relative"
        for side, prop in (
            ("offsetTop", "top"),
            ("offsetBottom", "bottom"),
            ("offsetStart", "inset-inline-start"),
            ("offsetEnd", "inset-inline-end"),
        ):
            style[prop] = length(component.get(side), SPACING, negative=True)
    return style


def _flex(component: dict, horizontal: bool) -> str | None:
    """LINE's `flex` as CSS: horizontal boxes share width (default 1), vertical ones height."""
    kind = component.get("type")
    if kind in ("separator", "icon", "spacer") or component.get("position") == "absolute":
        return "0 0 auto"
    if kind == "box" and component.get("width" if horizontal else "height"):
        return "0 0 auto"
    grow = integer(component.get("flex"))
    if grow is None or grow < 0:
        grow = 1 if horizontal or kind == "filler" else 0
    if grow == 0:
        return "0 0 auto"
    return f"{grow} 0 0" if horizontal else f"{grow} 0 auto"


def _actionable(
    name: str, component: dict, linked: bool
) -> tuple[str, dict[str, str | bool | None], bool]:
    """The element name and attributes for a component that may carry an action."""
    action = component.get("action")
    if not isinstance(action, dict):
        return name, {}, linked
    attrs = action_attrs(action, linked=linked)
    return (name if linked else "a"), attrs, True


def _box(box: dict, item: dict, linked: bool) -> Markup:
    layout = text(box.get("layout"))
    layout = layout if layout in LAYOUTS else "vertical"
    name, attrs, linked = _actionable("div", box, linked)
    spacing = length(box.get("spacing"), SPACING, percent=False)
    children = [
        _component(child, layout, first=index == 0, spacing=spacing, linked=linked)
        for index, child in enumerate(items(box.get("contents")))
    ]
    style = {**item, **_box_style(box)}
    return tag(
        name,
        children,
        class_=f"lp-box lp-{layout}" + (" lp-action" if attrs else ""),
        style=css(style),
        attrs=attrs,
    )


def _box_style(box: dict) -> dict[str, str | None]:
    border_width = length(box.get("borderWidth"), BORDER_WIDTHS, percent=False)
    style = {
        "background-color": color(box.get("backgroundColor")),
        "background-image": _gradient(mapping(box.get("background"))),
        "border-width": border_width,
        "border-style": "solid" if border_width else None,
        "border-color": color(box.get("borderColor")),
        "border-radius": length(box.get("cornerRadius"), SPACING, percent=False),
        "width": length(box.get("width")),
        "height": length(box.get("height")),
        "max-width": length(box.get("maxWidth")),
        "max-height": length(box.get("maxHeight")),
        "padding": length(box.get("paddingAll"), SPACING),
        "padding-top": length(box.get("paddingTop"), SPACING),
        "padding-bottom": length(box.get("paddingBottom"), SPACING),
        "padding-inline-start": length(box.get("paddingStart"), SPACING),
        "padding-inline-end": length(box.get("paddingEnd"), SPACING),
        "justify-content": one_of(box.get("justifyContent"), JUSTIFY),
        "align-items": one_of(box.get("alignItems"), ALIGN_ITEMS),
    }
    if style["height"] or style["max-height"]:
        style["overflow"] = "hidden"
    return style


def _gradient(background: dict) -> str | None:
    """A `linearGradient` background; LINE's angles match CSS (0deg = bottom to top)."""
    if background.get("type") != "linearGradient":
        return None
    start, end = color(background.get("startColor")), color(background.get("endColor"))
    if not (start and end):
        return None
    stops = [f"{start} 0%"]
    if center := color(background.get("centerColor")):
        position = length(background.get("centerPosition"), percent=True) or "50%"
        stops.append(f"{center} {position}")
    stops.append(f"{end} 100%")
    return f"linear-gradient({angle(background.get('angle')) or '0deg'}, {', '.join(stops)})"


def _text(component: dict, item: dict, linked: bool) -> Markup:
    name, attrs, _ = _actionable("div", component, linked)
    spans = [mapping(span) for span in items(component.get("contents"))]
    if spans:
        content = [
            tag("span", text(span.get("text")), style=css(_font_style(span)))
            for span in spans
            if span.get("type") == "span"
        ]
    else:
        content = text(component.get("text"))
    wrap = component.get("wrap") is True
    max_lines = integer(component.get("maxLines"))
    line_spacing = length(component.get("lineSpacing"), percent=False)
    paragraph_style = {
        "-webkit-line-clamp": str(max_lines) if wrap and max_lines and max_lines > 0 else None,
        "line-height": f"calc(1.4em + {line_spacing})" if line_spacing else None,
    }
    style = {
        **item,
        **_font_style(component),
        "text-align": one_of(component.get("align"), TEXT_ALIGN),
        "justify-content": one_of(component.get("gravity"), GRAVITY),
    }
    classes = "lp-text" + (" lp-wrap" if wrap else "")
    classes += " lp-clamp" if paragraph_style["-webkit-line-clamp"] else ""
    classes += " lp-action" if attrs else ""
    paragraph = tag("p", content, style=css(paragraph_style))
    return tag(name, paragraph, class_=classes, style=css(style), attrs=attrs)


def _font_style(component: dict) -> dict[str, str | None]:
    """Size, colour, weight, style and decoration, shared by text and its spans."""
    return {
        "font-size": length(component.get("size"), FONT_SIZES, percent=False),
        "color": color(component.get("color")),
        "font-weight": "bold" if component.get("weight") == "bold" else None,
        "font-style": "italic" if component.get("style") == "italic" else None,
        "text-decoration": one_of(component.get("decoration"), DECORATION),
    }


def _image(component: dict, item: dict, linked: bool) -> Markup:
    name, attrs, _ = _actionable("div", component, linked)
    fit = "contain" if component.get("aspectMode") != "cover" else "cover"
    frame_style = {
        "width": length(component.get("size"), IMAGE_SIZES) or IMAGE_SIZES["md"],
        "aspect-ratio": ratio(component.get("aspectRatio")),
        "background-color": color(component.get("backgroundColor")),
    }
    src = web_url(component.get("url"))
    picture = tag("img", src=src, alt="", loading="lazy", style=f"object-fit:{fit}") if src else ""
    frame = tag("div", picture, class_="lp-image-frame", style=css(frame_style))
    style = {
        **item,
        "align-items": one_of(component.get("align"), ALIGN),
        "justify-content": one_of(component.get("gravity"), GRAVITY),
    }
    classes = "lp-image" + (" lp-animated" if component.get("animated") is True else "")
    classes += " lp-action" if attrs else ""
    return tag(name, frame, class_=classes, style=css(style), attrs=attrs)


def _icon(component: dict, item: dict, linked: bool) -> Markup:
    width, height = ratio_parts(component.get("aspectRatio"))
    src = web_url(component.get("url"))
    picture = tag("img", src=src, alt="", style=f"width:{width / height:.3g}em;height:1em")
    style = {**item, "font-size": length(component.get("size"), FONT_SIZES, percent=False)}
    return tag("div", picture, class_="lp-icon", style=css(style))


def _button(component: dict, item: dict, linked: bool) -> Markup:
    kind = text(component.get("style"))
    kind = kind if kind in ("primary", "secondary") else "link"
    tint = color(component.get("color"))
    action = component.get("action")
    attrs = action_attrs(action, linked=linked) if isinstance(action, dict) else {}
    control = tag(
        "span" if linked or not attrs else "a",
        tag("span", action_label(action), class_="lp-button-label"),
        class_="lp-action" if attrs else None,
        style=css({"color" if kind == "link" else "background-color": tint}),
        attrs=attrs,
    )
    height = "sm" if component.get("height") == "sm" else "md"
    style = {**item, "justify-content": one_of(component.get("gravity"), GRAVITY)}
    classes = f"lp-button lp-button-{kind} lp-button-{height}"
    return tag("div", control, class_=classes, style=css(style))


def _separator(component: dict, item: dict, linked: bool) -> Markup:
    style = {**item, "border-color": color(component.get("color"))}
    return tag("div", class_="lp-separator", style=css(style))


def _filler(component: dict, item: dict, linked: bool) -> Markup:
    return tag("div", class_="lp-filler", style=css(item))


def _spacer(component: dict, item: dict, linked: bool) -> Markup:
    size = length(component.get("size"), SPACING, percent=False) or SPACING["md"]
    return tag("div", class_="lp-spacer", style=css({**item, "min-width": size, "height": size}))


def _video(component: dict, item: dict, linked: bool) -> Markup:
    """A hero video shows its preview image and a play glyph; LINE plays it on tap."""
    preview = web_url(component.get("previewUrl"))
    if not preview:
        alt = component.get("altContent")
        return _component(alt, None, first=True, spacing=None, linked=linked)
    name, attrs, _ = _actionable("div", component, linked)
    style = {**item, "aspect-ratio": ratio(component.get("aspectRatio"), "16:9")}
    content = [
        tag("img", src=preview, alt="", loading="lazy"),
        tag("span", class_="lp-play", aria_hidden="true"),
    ]
    classes = "lp-flex-video" + (" lp-action" if attrs else "")
    return tag(name, content, class_=classes, style=css(style), attrs=attrs)


_RENDERERS: dict[str, Callable[[dict, dict, bool], Markup]] = {
    "box": _box,
    "text": _text,
    "image": _image,
    "icon": _icon,
    "button": _button,
    "separator": _separator,
    "filler": _filler,
    "spacer": _spacer,
    "video": _video,
}
