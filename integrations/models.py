from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linebot.models import Channel


class IntegrationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Integration(models.Model):
    """One of the company's systems allowed to report members and events for one channel.

    The token is shown once, when the integration is created; only its SHA-256 is kept, so a
    database leak does not leak working tokens. The prefix lets staff tell tokens apart.
    """

    name = models.CharField(
        _("name"), max_length=100, help_text=_("Which system uses it, e.g. “Online shop”.")
    )
    channel = models.ForeignKey(
        Channel,
        on_delete=models.CASCADE,
        related_name="integrations",
        verbose_name=_("channel"),
        help_text=_("Every request made with this token reads and writes this channel only."),
    )
    token_prefix = models.CharField(_("token starts with"), max_length=16, editable=False)
    token_sha256 = models.CharField(
        _("token (SHA-256)"), max_length=64, unique=True, editable=False
    )
    is_active = models.BooleanField(_("active"), default=True, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    objects = IntegrationQuerySet.as_manager()

    class Meta:
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")
        ordering = ["channel", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_active=True, revoked_at__isnull=True)
                | models.Q(is_active=False, revoked_at__isnull=False),
                name="integration_revoked_iff_inactive",
            ),
        ]

    def __str__(self):
        return self.name


class Product(models.Model):
    """A product of the company's catalog, kept up to date through the API.

    Members' events name products by their SKU (the event name of ``cart_add``, ``purchase``
    and ``page_view``; the ``sku`` property of a ``favorite`` custom event). ``changes`` counts
    the price drops and restocks seen, so each change is told to a member once.
    """

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="products", verbose_name=_("channel")
    )
    sku = models.CharField(_("SKU"), max_length=100)
    name = models.CharField(_("name"), max_length=200)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    image_url = models.URLField(_("image URL"), max_length=1000, blank=True)
    url = models.URLField(_("page URL"), max_length=1000, blank=True)
    in_stock = models.BooleanField(_("in stock"), default=True)
    changes = models.PositiveIntegerField(_("price drops and restocks"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["channel", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "sku"], name="product_unique_sku"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_gte_0"),
        ]

    def __str__(self):
        return f"{self.name} ({self.sku})"
