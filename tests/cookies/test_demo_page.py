import re

import pytest

pytestmark = pytest.mark.django_db


def test_demo_page_embeds_the_banner_with_two_blocked_samples(client):
    response = client.get("/demo/")

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<script src="/static/kaizen/banner.js" data-site-key="demo"', html)
    assert re.search(r'<script type="text/plain" data-consent="analytics"', html)
    assert '<script type="text/plain" data-consent="advertising" src="/demo/ads.js">' in html
    assert "demo_analytics=" in html
    assert 'id="consent-readout"' in html
    # The banner's tag comes before any other script on the page.
    assert html.index("kaizen/banner.js") < html.index("<script nonce")
    assert not response.cookies  # nothing visitor-specific, no cookie
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_advertising_sample_sets_demo_ads(client):
    response = client.get("/demo/ads.js")

    assert response["Content-Type"].startswith("text/javascript")
    assert b"demo_ads=" in response.content


@pytest.mark.parametrize(
    ("lang", "expected"), [("ar", 'data-lang="ar"'), ("pt-BR", 'data-lang="pt-BR"')]
)
def test_demo_page_passes_a_language_to_the_banner(client, lang, expected):
    assert expected in client.get("/demo/", {"lang": lang}).content.decode()


def test_demo_page_ignores_a_malformed_language(client):
    html = client.get("/demo/", {"lang": '"><script>x'}).content.decode()

    assert "data-lang" not in html


def test_demo_page_speaks_gpp_before_any_ad_tag(client):
    html = client.get("/demo/").content.decode()
    assert html.index("kaizen/banner.js") < html.index("__gppLocator") < html.index("kaizen/gpp.js")
    assert html.index("kaizen/gpp.js") < html.index("gtag(")
