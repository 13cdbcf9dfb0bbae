from django.urls import path

from . import views

app_name = "members"

urlpatterns = [
    path("link/start/", views.link_start, name="link_start"),
    path("link/u/<str:token>/", views.link_url, name="link_url"),
    path("link/done/", views.link_done, name="link_done"),
    path("me/", views.me, name="me"),
]
