"""What happened to a member, for other apps to act on (campaigns: auto-replies, sequences).

Sent inside the webhook handler's transaction: receivers that talk to LINE must defer that work
with ``transaction.on_commit``.
"""

from django.dispatch import Signal

# member, event (the raw LINE event), is_unblocked
member_followed = Signal()
# member, event
member_blocked = Signal()
# member, message (the conversation entry), event
message_received = Signal()
# member, data, params, event
postback_received = Signal()
# channel, line_user_id, result ("ok" or "failed"), nonce, event
account_link_received = Signal()
# member, link (MemberLink), method: sent when a member is linked to a site user
member_linked = Signal()
# member, event (MemberEvent), created (False for a repeated idempotency key)
member_event_recorded = Signal()
