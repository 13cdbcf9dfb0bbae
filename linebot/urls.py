from django.urls import path

from . import views

app_name = "linebot"

urlpatterns = [
    path("webhook/<uuid:webhook_key>/", views.webhook, name="webhook"),
]
