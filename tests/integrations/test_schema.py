import re

import pytest
from django.contrib.staticfiles import finders
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_spec_validator import validate

from .test_events import purchase

pytestmark = pytest.mark.django_db


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_valid_openapi_and_describes_every_endpoint(spec):
    validate(spec)

    assert set(spec["paths"]) == {
        "/api/v1/members/{external_id}/",
        "/api/v1/members/by-line-user/{line_user_id}/",
        "/api/v1/events/",
        "/api/v1/events/batch/",
        "/api/v1/products/{sku}/",
    }
    assert spec["components"]["securitySchemes"]["integrationToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The token shown once when the integration was created in the admin.",
    }
    kinds = spec["components"]["schemas"]["KindEnum"]["enum"]
    assert "purchase" in kinds
    assert "reservation_changed" in kinds


def test_the_schema_is_also_served_as_yaml(client):
    response = client.get("/api/v1/schema/")

    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_real_answers_match_the_schema(spec, api, member):
    """What the API really answers is what the schema promises, for each kind of answer."""
    openapi = OpenAPI.from_dict(spec)
    answers = [
        api.put("members/C-1001/", {"points": 10, "tags": ["vip"]}),
        api.get(f"members/by-line-user/{member.line_user_id}/"),
        api.post("events/", purchase()),
        api.post("events/", purchase()),
        api.post("events/batch/", {"events": [purchase(idempotency_key="b-1"), {"kind": "x"}]}),
        api.put("products/SKU-1/", {"name": "Green tea", "price": "1280"}),
        api.put("products/SKU-1/", {"name": "Green tea", "price": "980", "in_stock": False}),
        api.get("products/SKU-1/"),
        api.get("products/SKU-2/"),
        api.put("products/SKU-1/", {"name": "Green tea", "price": "-1"}),
    ]

    statuses = [200, 200, 201, 200, 200, 201, 200, 200, 404, 400]
    assert [answer.status_code for answer in answers] == statuses
    answers = answers[:-1]  # the 400 is documented as "the fields named", without a schema
    for answer in answers:
        openapi.validate_response(
            DjangoOpenAPIRequest(answer.wsgi_request), DjangoOpenAPIResponse(answer)
        )


def test_the_docs_page_loads_its_assets_from_this_site_only(client):
    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)
    assert '"validatorUrl": null' in html
    assets = re.findall(r"""(?:src|href)=["']/static/([^"']+)["']""", html)
    assert len(assets) >= 3
    for asset in assets:
        assert finders.find(asset), asset
