import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_in_a_browser_without_leaving_the_site(browser, live_server):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    outside = []

    def only_this_site(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_site)
    try:
        page.goto(f"{live_server.url}/api/v1/docs/")
        page.get_by_text("Report events in a batch").wait_for(timeout=15000)
        page.get_by_text("Create or update a member by customer ID").wait_for()
        page.get_by_role("button", name="Authorize").wait_for()
    finally:
        context.close()

    assert outside == []
