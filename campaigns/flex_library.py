"""Starter Flex designs staff can insert into a template and adapt.

Each starter is one Flex message that is valid as it stands and uses variables where a real
message would differ per member or per send (`{{ member.display_name }}`, `{{ data.* }}`).
"""

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

GREEN = "#06C755"
GREY = "#8C8C8C"
IMAGE = "https://scdn.line-apps.com/n/channel_devcenter/img/fx/01_1_cafe.png"


@dataclass(frozen=True)
class Starter:
    key: str
    name: str | Promise
    description: str | Promise
    message: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": str(self.name),
            "description": str(self.description),
            "message": self.message,
        }


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, **style}


def _row(label: str, value: str, *, bold: bool = False) -> dict[str, Any]:
    weight = {"weight": "bold"} if bold else {}
    return {
        "type": "box",
        "layout": "horizontal",
        "contents": [
            _text(label, size="sm", color=GREY, flex=0, **weight),
            _text(value, size="sm", align="end", **weight),
        ],
    }


def _button(label: str, uri: str, style: str = "primary") -> dict[str, Any]:
    return {
        "type": "button",
        "style": style,
        "color": GREEN if style == "primary" else GREY,
        "action": {"type": "uri", "label": label, "uri": uri},
    }


PRODUCT_CARD = {
    "type": "flex",
    "altText": '{{ data.product_name | default:"New arrival" }}',
    "contents": {
        "type": "bubble",
        "hero": {
            "type": "image",
            "url": IMAGE,
            "size": "full",
            "aspectRatio": "20:13",
            "aspectMode": "cover",
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                _text(
                    '{{ data.product_name | default:"New arrival" }}',
                    size="xl",
                    weight="bold",
                    wrap=True,
                ),
                _text('¥{{ data.price | default:"1,980" }}', size="lg", color=GREEN),
                _text(
                    '{{ data.description | default:"Hand-picked for you." }}',
                    size="sm",
                    color=GREY,
                    wrap=True,
                ),
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                _button("View product", '{{ data.product_url | default:"https://example.com/" }}')
            ],
        },
    },
}

RECEIPT = {
    "type": "flex",
    "altText": "Thank you for your order",
    "contents": {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                _text("RECEIPT", weight="bold", color=GREEN, size="sm"),
                _text('{{ data.shop_name | default:"Our shop" }}', weight="bold", size="xxl"),
                _text("Order {{ data.order_number }}", size="xs", color=GREY),
                {"type": "separator", "margin": "lg"},
                {
                    "type": "box",
                    "layout": "vertical",
                    "spacing": "sm",
                    "margin": "lg",
                    "contents": [
                        _row("{{ data.item_name }}", "¥{{ data.item_price }}"),
                        _row("Shipping", '¥{{ data.shipping | default:"0" }}'),
                        {"type": "separator"},
                        _row("Total", "¥{{ data.total }}", bold=True),
                        _row("Points earned", '{{ data.points_earned | default:"0" }} pt'),
                    ],
                },
                {"type": "separator", "margin": "lg"},
                _text(
                    "{{ member.display_name }}, you now have {{ member.points }} points.",
                    size="xs",
                    color=GREY,
                    wrap=True,
                ),
            ],
        },
    },
}

RESERVATION_REMINDER = {
    "type": "flex",
    "altText": "Reminder: your reservation {{ data.date }} {{ data.time }}",
    "contents": {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": GREEN,
            "paddingAll": "lg",
            "contents": [_text("Reservation reminder", color="#FFFFFF", weight="bold")],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                _text("{{ member.display_name }}, we look forward to seeing you.", wrap=True),
                _row("Date", "{{ data.date }}"),
                _row("Time", "{{ data.time }}"),
                _row("Place", '{{ data.place | default:"Main store" }}'),
                _row("Guests", '{{ data.guests | default:"1" }}'),
            ],
        },
        "footer": {
            "type": "box",
            "layout": "horizontal",
            "spacing": "sm",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "color": GREEN,
                    "action": {
                        "type": "postback",
                        "label": "I'll be there",
                        "data": "reservation=confirm&id={{ data.reservation_id }}",
                        "displayText": "I'll be there",
                    },
                },
                {
                    "type": "button",
                    "style": "secondary",
                    "action": {
                        "type": "uri",
                        "label": "Change",
                        "uri": '{{ data.change_url | default:"https://example.com/" }}',
                    },
                },
            ],
        },
    },
}

COUPON = {
    "type": "flex",
    "altText": 'A coupon for you: {{ data.discount | default:"10% off" }}',
    "contents": {
        "type": "bubble",
        "size": "kilo",
        "body": {
            "type": "box",
            "layout": "vertical",
            "alignItems": "center",
            "spacing": "md",
            "background": {
                "type": "linearGradient",
                "angle": "135deg",
                "startColor": "#FFF4D6",
                "endColor": "#FFD9E0",
            },
            "contents": [
                _text("COUPON", size="sm", color=GREY, weight="bold"),
                _text(
                    '{{ data.discount | default:"10% off" }}',
                    size="3xl",
                    weight="bold",
                    color="#E5484D",
                ),
                _text("For {{ member.rank }} members", size="sm"),
                {
                    "type": "box",
                    "layout": "vertical",
                    "borderWidth": "normal",
                    "borderColor": "#E5484D",
                    "cornerRadius": "md",
                    "paddingAll": "md",
                    "contents": [
                        _text(
                            '{{ data.code | default:"WELCOME10" }}', weight="bold", align="center"
                        )
                    ],
                },
                _text(
                    'Valid until {{ data.valid_until | default:"the end of the month" }}',
                    size="xs",
                    color=GREY,
                ),
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                _button("Use now", '{{ data.coupon_url | default:"https://example.com/" }}')
            ],
        },
    },
}

CART_REMINDER = {
    "type": "flex",
    "altText": "You left something in your cart",
    "contents": {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                _text("Still thinking it over?", weight="bold", size="lg"),
                {
                    "type": "box",
                    "layout": "horizontal",
                    "spacing": "md",
                    "contents": [
                        {
                            "type": "image",
                            "url": '{{ data.image_url | default:"' + IMAGE + '" }}',
                            "size": "sm",
                            "aspectMode": "cover",
                            "flex": 0,
                        },
                        {
                            "type": "box",
                            "layout": "vertical",
                            "contents": [
                                _text(
                                    '{{ data.product_name | default:"Your item" }}',
                                    weight="bold",
                                    wrap=True,
                                ),
                                _text('¥{{ data.price | default:"1,980" }}', color=GREEN),
                                _text(
                                    '{{ data.quantity | default:"1" }} in your cart',
                                    size="xs",
                                    color=GREY,
                                ),
                            ],
                        },
                    ],
                },
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                _button("Back to my cart", '{{ data.cart_url | default:"https://example.com/" }}')
            ],
        },
    },
}

STARTERS = (
    Starter(
        "product_card",
        _("Product card"),
        _("A product photo, name, price and a link to its page."),
        PRODUCT_CARD,
    ),
    Starter("receipt", _("Receipt"), _("An order summary with the total and points."), RECEIPT),
    Starter(
        "reservation_reminder",
        _("Reservation reminder"),
        _("Date, time and place, with buttons to confirm or change."),
        RESERVATION_REMINDER,
    ),
    Starter("coupon", _("Coupon"), _("A discount code with its expiry date."), COUPON),
    Starter(
        "cart_reminder",
        _("Cart reminder"),
        _("The item left in the cart, with a link back to it."),
        CART_REMINDER,
    ),
)


def starter_get(key: str) -> Starter | None:
    return next((starter for starter in STARTERS if starter.key == key), None)
