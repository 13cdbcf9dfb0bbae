"""LINE Login through django-allauth, with base URLs from settings (real LINE or the sandbox).

A provider with allauth's id ``line`` replacing allauth's own: its endpoints come from the
platform of the ``linebot.Channel`` the SocialApp is tied to, it keeps the access token (for the
friendship status) and verifies the ID token with LINE, and it reports
``friendship_status_changed`` and ``friendFlag``, which allauth's provider drops.
"""
