"""Every admin list and add page opens: a broken changelist is found here before staff find it."""

import pytest
from django.contrib import admin

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", list(admin.site._registry), ids=lambda model: model._meta.label_lower
)
def test_admin_list_and_add_pages_open(admin_client, model):
    opts = model._meta
    changelist = admin_client.get(f"/admin/{opts.app_label}/{opts.model_name}/")
    assert changelist.status_code == 200
    if admin.site._registry[model].has_add_permission(changelist.wsgi_request):
        assert (
            admin_client.get(f"/admin/{opts.app_label}/{opts.model_name}/add/").status_code == 200
        )


def test_admin_is_branded_and_speaks_japanese_and_english(admin_client):
    japanese = admin_client.get("/admin/", headers={"accept-language": "ja"}).content.decode()
    english = admin_client.get("/admin/", headers={"accept-language": "en"}).content.decode()

    assert "縁 LINE CRM" in japanese and "チャネル" in japanese
    assert "Enishi LINE CRM" in english and "Channels" in english
