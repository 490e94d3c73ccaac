"""The preference pages speak the visitor's language (en, de, fr, es, ar shipped, as the banner).

`?lang=` wins (a link in a message may carry it), then Accept-Language, then English. The
catalogs in locale/ are checked against their sources: every message translated, and the
compiled .mo files holding exactly what the .po files say.
"""

import ast
import gettext
import re
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.test import Client

from consents.models import ConsentEvent
from consents.preferences import links, tokens
from consents.services import record_consent
from tests.factories import BannerTextFactory, PurposeFactory, SiteFactory

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("de", "fr", "es", "ar")


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def person_path(organization, email="ada@example.com") -> str:
    return f"/preferences/p/{links.preference_token(organization, email)}/"


@pytest.mark.parametrize(
    ("header", "lang", "title", "save"),
    [
        (
            "de-DE,de;q=0.9,en;q=0.5",
            "de",
            "Ihre Nachrichten-Einstellungen",
            "Meine Auswahl speichern",
        ),
        ("fr-CA,fr;q=0.8", "fr", "Vos préférences de messages", "Enregistrer mes choix"),
        ("es", "es", "Sus preferencias de mensajes", "Guardar mis elecciones"),
        ("it-IT,it;q=0.9", "en", "Your message preferences", "Save my choices"),
        ("", "en", "Your message preferences", "Save my choices"),
    ],
)
def test_person_page_follows_accept_language(browser, organization, header, lang, title, save):
    extra = {"HTTP_ACCEPT_LANGUAGE": header} if header else {}
    response = browser.get(person_path(organization), **extra)
    page = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in page
    assert f"<h1>{title}</h1>" in page and save in page
    assert response["Content-Language"] == lang
    assert "Accept-Language" in response["Vary"]


def test_lang_in_the_link_wins_and_survives_the_save(browser, organization):
    path = person_path(organization) + "?lang=fr"
    page = browser.get(path, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Vos préférences de messages" in page
    assert "Messages que vous recevez toujours" in page  # the transactional list's heading
    assert "Confirmations de commande et de paiement" in page
    assert "version 2026-01" in page  # the footer's notice line, in French

    token = browser.cookies["csrftoken"].value
    saved = browser.post(
        path, {"purpose_marketing_email": "on", "action": "save", "csrfmiddlewaretoken": token}
    )
    assert saved.status_code == 302 and "lang=fr" in saved["Location"]
    after = browser.get(saved["Location"]).content.decode()
    assert "Vos choix ont été enregistrés." in after
    assert re.search(r"Autorisé : votre choix du \d+ \w+ \d{4}\.", after)


def test_an_unknown_or_malformed_lang_falls_back_to_the_browser_language(browser, organization):
    for lang in ("xx", "de-DE-" + "x" * 500, "<script>", "%00"):
        page = browser.get(
            person_path(organization), {"lang": lang}, HTTP_ACCEPT_LANGUAGE="es"
        ).content.decode()
        assert "Sus preferencias de mensajes" in page
        assert "<script>" not in page


def test_link_problems_are_in_the_visitors_language(browser, organization):
    response = browser.get("/preferences/p/acme.garbage/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 400
    assert "Dieser Link ist ungültig" in response.content.decode()

    old = int(time.time()) - 181 * 24 * 3600
    token = tokens.make_token(
        organization, tokens.PREFERENCES, {"e": "ada@example.com"}, issued_at=old
    )
    expired = browser.get(f"/preferences/p/{token}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert expired.status_code == 410
    assert "Ce lien a expiré" in expired.content.decode()


def test_privacy_choices_page_in_spanish_with_gpc(browser, organization):
    PurposeFactory(
        organization=organization, key="profiling", name="Profiling", kind="data_use_opt_out"
    )
    response = browser.get("/privacy-choices/acme/", HTTP_ACCEPT_LANGUAGE="es", HTTP_SEC_GPC="1")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Sus opciones de privacidad</h1>" in page
    assert "Global Privacy Control detectado: solicitud de exclusión respetada." in page
    assert "Excluirme: Profiling" in page
    assert ConsentEvent.objects.filter(source="gpc").exists()  # the signal is still recorded


def test_unsubscribe_pages_in_german(organization):
    record_consent(
        organization=organization,
        identifiers={"email": "ada@example.com"},
        choices={"marketing_email": True},
        source="api",
        actor="test",
    )
    path = urlparse(links.unsubscribe_url(organization, "ada@example.com", "marketing_email")).path
    provider = Client(enforce_csrf_checks=True)
    ask = provider.get(path, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Von „Marketing Email“ abmelden?" in ask
    assert "Nichts ändert sich, bis Sie die Schaltfläche drücken." in ask

    # A mailbox provider's POST sends no Accept-Language: English, and it unsubscribes.
    done = provider.post(
        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    again = provider.post(
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert "Sie sind abgemeldet" in again.content.decode()


def test_visitor_page_keeps_the_banner_language_for_page_words(browser, organization):
    site = SiteFactory(
        organization=organization, key="shop", name="Shop", default_jurisdiction="DE"
    )
    response = browser.get("/preferences/shop/?lang=fr")
    page = response.content.decode()
    assert "Nous n'avons encore aucun choix enregistré pour ce navigateur." in page
    assert "Aller au contenu" in page
    assert response["Content-Language"] == "fr"
    # A language the site added in the admin but we ship no catalog for: English page words.
    BannerTextFactory(site=site, language="it", title="Le tue scelte")
    italian = Client().get("/preferences/shop/?lang=it")
    assert italian["Content-Language"] == "it"
    assert "We have no choices on record for this browser yet." in italian.content.decode()


QUOTED = r'"(?:[^"\\]|\\.)*"'
ENTRY = re.compile(rf"^msgid ({QUOTED}(?:\n{QUOTED})*)\nmsgstr ({QUOTED}(?:\n{QUOTED})*)", re.M)


def po_messages(path: Path) -> dict[str, str]:
    """msgid → msgstr of a .po file (header left out)."""

    def text(block: str) -> str:
        return "".join(ast.literal_eval(piece) for piece in re.findall(QUOTED, block))

    entries = ENTRY.findall(path.read_text(encoding="utf-8"))
    return {text(msgid): text(msgstr) for msgid, msgstr in entries if text(msgid)}


@pytest.mark.parametrize("language", SHIPPED)
def test_catalogs_are_complete_and_compiled(language):
    folder = ROOT / "locale" / language / "LC_MESSAGES"
    source = po_messages(folder / "django.po")
    assert len(source) >= 50
    assert [msgid for msgid, text in source.items() if not text] == []
    for msgid, text in source.items():  # placeholders survive translation
        assert sorted(re.findall(r"%\(\w+\)s", text)) == sorted(re.findall(r"%\(\w+\)s", msgid))
    with open(folder / "django.mo", "rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    assert {msgid: catalog.gettext(msgid) for msgid in source} == source, (
        "locale/*.mo is stale: run `make messages`"
    )


def test_every_accept_language_tag_is_tried_by_weight_and_no_cookie_decides(browser, organization):
    SiteFactory(organization=organization, key="shop", name="Shop", default_jurisdiction="DE")
    browser.cookies["django_language"] = "fr"
    header = {"HTTP_ACCEPT_LANGUAGE": "it-IT,it;q=0.9,de;q=0.8,en;q=0.5"}
    person = browser.get(person_path(organization), **header)
    assert person["Content-Language"] == "de"
    assert "Ihre Nachrichten-Einstellungen" in person.content.decode()
    visitor = Client().get("/preferences/shop/", **header)
    assert visitor["Content-Language"] == "de"
    assert "Für diesen Browser ist noch keine Auswahl gespeichert." in visitor.content.decode()
    # A `lang` the banner cannot speak is skipped, not taken as English.
    skipped = Client().get("/preferences/shop/?lang=xx", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert skipped["Content-Language"] == "fr"


def test_arabic_pages_are_right_to_left(browser, organization):
    response = browser.get(person_path(organization) + "?lang=ar")
    page = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert "تفضيلات الرسائل الخاصة بك" in page
    english = browser.get(person_path(organization)).content.decode()
    assert '<html lang="en">' in english


def test_links_to_the_preference_page_keep_the_language(organization):
    path = urlparse(links.unsubscribe_url(organization, "ada@example.com", "marketing_email")).path
    page = Client().get(path + "?lang=de").content.decode()
    match = re.search(r'href="([^"]*/preferences/p/[^"]+)"', page)
    assert match is not None and match.group(1).endswith("?lang=de")
    link = urlparse(match.group(1))
    followed = Client().get(f"{link.path}?{link.query}")
    assert "Ihre Nachrichten-Einstellungen" in followed.content.decode()
