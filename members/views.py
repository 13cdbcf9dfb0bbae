"""Member-facing pages: link a LINE account to a membership, and manage it; the click redirect
of tracked links."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from linebot.models import Channel

from .linking import (
    LinkRefused,
    account_link_dialog_url,
    account_link_nonce_issue,
    link_url_member,
    member_link,
    member_unlink,
)
from .models import LinkMethod, Member, MemberLink, TrackedLink
from .tracking import link_click_record, link_request_is_preview


@login_required
@require_http_methods(["GET", "POST"])
def link_start(request):
    """The page LINE's "Link account" button opens: consent, then LINE's account-link dialog."""
    link_token = request.GET.get("linkToken", "")
    channel = Channel.objects.active().filter(channel_id=request.GET.get("c", "")).first()
    if not link_token or channel is None:
        return render(
            request,
            "members/link_error.html",
            {"reason": _("This link is incomplete. Start again from the LINE chat.")},
            status=400,
        )
    if request.method == "POST":
        if not request.POST.get("consent"):
            messages.error(request, _("Please agree to link your accounts."))
        else:
            nonce = account_link_nonce_issue(channel=channel, user=request.user)
            return redirect(
                account_link_dialog_url(channel=channel, link_token=link_token, nonce=nonce)
            )
    return render(request, "members/link_confirm.html", {"channel": channel})


@login_required
@require_http_methods(["GET", "POST"])
def link_url(request, token):
    """A signed link sent in a message: whoever signs in with it is linked to that friend."""
    try:
        member = link_url_member(token)
    except LinkRefused:
        return render(
            request,
            "members/link_error.html",
            {"reason": _("This link has expired or is not valid. Ask for a new one in LINE.")},
            status=400,
        )
    if request.method == "POST":
        if not request.POST.get("consent"):
            messages.error(request, _("Please agree to link your accounts."))
        else:
            member_link(member=member, user=request.user, method=LinkMethod.SIGNED_URL)
            return redirect("members:link_done")
    return render(request, "members/link_confirm.html", {"channel": member.channel})


@login_required
def link_done(request):
    return render(request, "members/link_done.html")


@login_required
@require_http_methods(["GET", "POST"])
def me(request):
    """My page: which LINE accounts are linked, marketing consent, and unlinking."""
    links = (
        MemberLink.objects.active().filter(user=request.user).select_related("member", "channel")
    )
    if request.method == "POST":
        link = get_object_or_404(links, pk=request.POST.get("link"))
        action = request.POST.get("action")
        if action == "unlink":
            member_unlink(member=link.member, reason="by the member")
            messages.success(request, _("Your LINE account is no longer linked."))
        elif action in ("opt_out", "opt_in"):
            Member.objects.filter(pk=link.member_id).update(
                marketing_opted_out_at=timezone.now() if action == "opt_out" else None
            )
            messages.success(request, _("Your message preferences are saved."))
        else:
            return HttpResponseBadRequest()
        return redirect("members:me")
    return render(request, "members/me.html", {"links": links})


@never_cache
@require_http_methods(["GET", "HEAD"])
def tracked_link_redirect(request, token):
    """A tracked link in a message: count the click, then go to the stored destination.

    Only URLs we stored can be reached (no open redirect); previews and prefetches by link
    preview fetchers are redirected but not counted.
    """
    link = get_object_or_404(
        TrackedLink.objects.only("url", "member_id", "source", "source_id"), token=token
    )
    if not link_request_is_preview(method=request.method, meta=request.META):
        link_click_record(link)
    response = HttpResponseRedirect(link.url)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
