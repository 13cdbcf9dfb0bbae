"""A/B tests: recipients split into variants and a no-send holdout, reproducibly.

A member's place is a hash of the campaign id and the member id, so the same member lands in
the same arm on every run of the campaign and on every recount, whoever computes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q

from members.models import LinkClick, MessageSource

from .models import Campaign, CampaignVariant, Delivery, DeliveryStatus, SkipReason

BUCKETS = 10_000
HOLDOUT = "holdout"


def ab_bucket(campaign_id: int, member_id: int) -> int:
    """The member's fixed place, 0..9999, in this campaign."""
    digest = hashlib.blake2b(f"{campaign_id}:{member_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


class Splitter:
    """Assigns members: ``HOLDOUT``, a variant id, or None (no variants: the campaign's
    template)."""

    def __init__(self, campaign: Campaign):
        self.campaign_id = campaign.pk
        self.holdout = campaign.holdout_percent * BUCKETS // 100
        variants = list(campaign.variants.order_by("name", "pk").values_list("pk", "weight"))
        total = sum(weight for _pk, weight in variants)
        self.bounds: list[tuple[int, int]] = []
        upper = self.holdout
        for index, (pk, weight) in enumerate(variants):
            upper += (BUCKETS - self.holdout) * weight // total
            if index == len(variants) - 1:
                upper = BUCKETS
            self.bounds.append((upper, pk))

    def assign(self, member_id: int) -> int | str | None:
        bucket = ab_bucket(self.campaign_id, member_id)
        if bucket < self.holdout:
            return HOLDOUT
        for upper, pk in self.bounds:
            if bucket < upper:
                return pk
        return None


@dataclass(frozen=True)
class VariantResult:
    name: str
    members: int
    sent: int
    failed: int
    clicks: int
    clickers: int

    @property
    def click_rate(self) -> float | None:
        return self.clickers / self.sent if self.sent else None


def ab_results(campaign: Campaign) -> list[VariantResult]:
    """Per variant (and the holdout): members, sent, failed, clicks and clicking members.

    Clicks are those on the campaign's tracked links by members the variant was sent to.
    """
    rows = []
    deliveries = Delivery.objects.filter(run__campaign=campaign)  # through the runs' index
    clicks = LinkClick.objects.filter(source=MessageSource.CAMPAIGN, source_id=campaign.pk)
    for variant in campaign.variants.order_by("name", "pk"):
        mine = deliveries.filter(variant=variant)
        counts = mine.aggregate(
            members=Count("member", distinct=True),
            sent=Count("pk", filter=Q(status=DeliveryStatus.SENT)),
            failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
        )
        theirs = clicks.filter(
            Exists(mine.filter(member=OuterRef("member"), status=DeliveryStatus.SENT))
        ).aggregate(clicks=Count("pk"), clickers=Count("member", distinct=True))
        rows.append(VariantResult(name=variant.name, **counts, **theirs))
    held = deliveries.filter(status=DeliveryStatus.SKIPPED, reason=SkipReason.HOLDOUT)
    if campaign.holdout_percent or held.exists():
        rows.append(
            VariantResult(
                name=str(SkipReason.HOLDOUT.label),
                members=held.values("member").distinct().count(),
                sent=0,
                failed=0,
                clicks=0,
                clickers=0,
            )
        )
    return rows


def variant_templates(campaign: Campaign) -> dict[int, list]:
    """Each variant's messages, by variant id."""
    return {
        variant.pk: variant.template.messages
        for variant in CampaignVariant.objects.filter(campaign=campaign).select_related("template")
    }
