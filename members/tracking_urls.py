"""The click redirect for tracked links, at the site root so message URIs stay short."""

from django.urls import path

from . import views

app_name = "tracking"

urlpatterns = [
    path("<str:token>", views.tracked_link_redirect, name="redirect"),
]
