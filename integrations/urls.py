from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

app_name = "integrations"

urlpatterns = [
    path("members/<str:external_id>/", views.MemberDetailView.as_view(), name="member"),
    path(
        "members/by-line-user/<str:line_user_id>/",
        views.MemberByLineUserView.as_view(),
        name="member_by_line_user",
    ),
    path("products/<str:sku>/", views.ProductDetailView.as_view(), name="product"),
    path("events/", views.EventCreateView.as_view(), name="events"),
    path("events/batch/", views.EventBatchView.as_view(), name="events_batch"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="integrations:schema"), name="docs"),
]
