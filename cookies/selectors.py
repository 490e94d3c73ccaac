"""Reads for the banner: the site behind a key, the visitor's jurisdiction, the banner config."""

import hashlib
import json
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from consent_platform import memo
from consents.gpp.choices import SALE_SHARE, TARGETED_ADVERTISING
from consents.jurisdiction import (
    UNKNOWN_COUNTRY_CODES,
    jurisdiction_group,
    normalize_jurisdiction,
)
from consents.models import Notice
from cookies.models import BannerText, CookieDefinition, Site, Vendor
from cookies.texts import (
    DEFAULT_TEXTS,
    FALLBACK_LANGUAGE,
    OVERRIDABLE_FIELDS,
    default_texts,
    is_right_to_left,
    primary_subtag,
)

CONSENT_COOKIE_NAME = "kz_consent"
ORIGINS_CACHE_SECONDS = 60
# Edits drop cached configs at once (cookies.signals); the timeout bounds what no signal sees,
# such as a notice whose publication time arrives.
CONFIG_CACHE_SECONDS = 60


@dataclass(frozen=True)
class SiteEntry:
    """What every visitor request needs of a site, cached by its key (consent_platform.memo):
    the site with its organization, the languages it has banner words for, and the keys of
    the purposes it offers. Any change to the organization's banner sources drops the
    entries of all its sites (forget_configs)."""

    site: Site
    languages: tuple[str, ...]
    purpose_keys: frozenset[str]


def site_entry_key(site_key: str) -> str:
    return f"kz:site:{site_key}"


def site_entry(site_key: str) -> SiteEntry | None:
    def load():
        site = Site.objects.select_related("organization").filter(key=site_key).first()
        if site is None:
            return False
        return SiteEntry(
            site,
            tuple(site.texts.values_list("language", flat=True)),
            frozenset(site.purposes.values_list("key", flat=True)),
        )

    return memo.get_or_load(site_entry_key(site_key), load, CONFIG_CACHE_SECONDS) or None


def origins_cache_key(site_key: str) -> str:
    return f"kz:site-origins:{site_key}"


def allowed_origins(site_key: str) -> frozenset[str]:
    """The origins allowed to call the visitor API for this site (empty for an unknown site).

    Cached briefly because CORS asks on every request, preflights included; saving a Site
    drops the entry (cookies.cors)."""
    key = origins_cache_key(site_key)
    origins = cache.get(key)
    if origins is None:
        site = Site.objects.filter(key=site_key).only("allowed_origins").first()
        origins = site.origin_list() if site else []
        cache.set(key, origins, ORIGINS_CACHE_SECONDS)
    return frozenset(origins)


def origin_allowed(site_key: str, origin: str | None) -> bool:
    return bool(origin) and origin.strip().lower().rstrip("/") in allowed_origins(site_key)


def site_jurisdiction(site: Site, headers) -> str:
    """The visitor's jurisdiction: the site's configured header when it names one, else the
    site's default."""
    if site.jurisdiction_header:
        found = normalize_jurisdiction(headers.get(site.jurisdiction_header, ""))
        if found and found.split("-")[0] not in UNKNOWN_COUNTRY_CODES:
            return found
    return (
        normalize_jurisdiction(site.default_jurisdiction) or site.organization.default_jurisdiction
    )


def banner_language(site: Site, requested: str, site_languages=None) -> str:
    """The best language we have words for: exact tag, then its primary subtag, then English.

    `site_languages`: the site's own banner languages when the caller holds them (SiteEntry)."""
    if site_languages is None:
        site_languages = site.texts.values_list("language", flat=True)
    available = {lang.lower(): lang for lang in DEFAULT_TEXTS}
    available.update({lang.lower(): lang for lang in site_languages})
    requested = (requested or "").strip().lower()[:16]
    for candidate in (requested, primary_subtag(requested)):
        if candidate in available:
            return available[candidate]
    return FALLBACK_LANGUAGE


def _banner_texts(site: Site, language: str) -> list[BannerText]:
    """The site's words for `language`, the more general first: those of its primary subtag
    (pt for pt-BR), then its own, so a regional text need only hold what differs."""
    primary = primary_subtag(language)
    texts = {t.language: t for t in site.texts.filter(language__in={primary, language})}
    return [texts[lang] for lang in dict.fromkeys((primary, language)) if lang in texts]


def site_words(site: Site, language: str) -> tuple[dict, dict, dict, bool]:
    """The banner's words for `language` (shipped, then the site's for its primary subtag,
    then its own), purpose names, descriptions, and whether it is written right to left.
    The banner config and the visitor's preference page both read them here."""
    overrides = _banner_texts(site, language)
    texts = default_texts(language)
    names: dict = {}
    descriptions: dict = {}
    for override in overrides:
        texts.update({f: getattr(override, f) for f in OVERRIDABLE_FIELDS if getattr(override, f)})
        names.update({k: v for k, v in override.purpose_name_map().items() if v})
        descriptions.update({k: v for k, v in override.purpose_description_map().items() if v})
    rtl = is_right_to_left(language) or any(o.right_to_left for o in overrides)
    return texts, names, descriptions, rtl


def current_notice(site: Site, language: str) -> Notice | None:
    """The latest published notice in the banner's language (exact tag, then its primary
    subtag, any case), else in English, the banner's own fallback, else in any language."""
    published = Notice.objects.filter(
        organization=site.organization, published_at__lte=timezone.now()
    ).order_by("-published_at", "-id")
    for candidate in dict.fromkeys((language, primary_subtag(language), FALLBACK_LANGUAGE)):
        notice = published.filter(language__iexact=candidate).first()
        if notice is not None:
            return notice
    return published.first()


def banner_config(site: Site, *, language: str, jurisdiction: str) -> dict:
    """Everything the banner needs, for one language and jurisdiction. Nothing visitor-specific,
    so the answer is cacheable; `config_version` is a hash of the rest."""
    group = jurisdiction_group(jurisdiction)
    texts, names, descriptions, rtl = site_words(site, language)

    purposes = list(site.purposes.order_by("position", "key"))
    cookies_by_purpose: dict[int, list] = {}
    for cookie in CookieDefinition.objects.filter(
        organization=site.organization, purpose__in=purposes
    ).order_by("name"):
        cookies_by_purpose.setdefault(cookie.purpose_id, []).append(
            {
                "name": cookie.name,
                "domain": cookie.domain,
                "lifetime": cookie.lifetime,
                "provider": cookie.provider,
                "description": cookie.description,
            }
        )
    vendors_by_purpose: dict[int, list] = {}
    for vendor in Vendor.objects.filter(
        organization=site.organization, purpose__in=purposes
    ).order_by("name"):
        vendors_by_purpose.setdefault(vendor.purpose_id, []).append(
            {
                "name": vendor.name,
                "privacy_policy_url": vendor.privacy_policy_url,
                "description": vendor.description,
            }
        )
    notice = current_notice(site, language)
    config = {
        "site": site.key,
        "language": language,
        "rtl": rtl,
        "jurisdiction": jurisdiction,
        "jurisdiction_group": group,
        "notice": {
            "version": notice.version,
            "title": notice.title,
            "text": notice.text,
            "requires_fresh_consent": notice.requires_fresh_consent,
        }
        if notice
        else None,
        "purposes": [
            {
                "key": purpose.key,
                "name": names.get(purpose.key) or purpose.name,
                "description": descriptions.get(purpose.key) or purpose.description,
                "mode": purpose.mode_for(group),
                "validity_days": purpose.validity_days,
                "cookies": cookies_by_purpose.get(purpose.pk, []),
                "vendors": vendors_by_purpose.get(purpose.pk, []),
            }
            for purpose in purposes
        ],
        "texts": texts,
        "appearance": {
            "position": site.position,
            "background_color": site.background_color,
            "text_color": site.text_color,
            "accent_color": site.accent_color,
            "show_floating_button": site.show_floating_button,
        },
        "cookie": {
            "name": CONSENT_COOKIE_NAME,
            "lifetime_days": site.cookie_lifetime_days,
            "domain": site.cookie_domain,
            "opt_out_reprompt_days": site.opt_out_reprompt_days,
        },
        "gpc_purposes": site.gpc_purpose_keys(),
        "consent_mode": site.consent_mode_signals(),
        "consent_mode_opt_outs": consent_mode_opt_outs(group, {p.key for p in purposes}),
        "preference_center_url": f"{settings.PUBLIC_BASE_URL}/preferences/{site.key}/",
        "privacy_policy_url": site.privacy_policy_url or site.organization.privacy_policy_url,
        "gpp": {
            "us_privacy_enabled": site.us_privacy_enabled,
            "mspa_covered_transaction": site.mspa_covered_transaction,
            "mspa_opt_out_option_mode": site.mspa_opt_out_option_mode,
            "mspa_service_provider_mode": site.mspa_service_provider_mode,
        },
    }
    config["config_version"] = config_version(config)
    return config


# Under US state privacy laws, an opt-out of sale or sharing (GPC included) means no personal
# data goes to advertising platforms, and an opt-out of targeted advertising means no ads
# personalized on it: Consent Mode's ad_user_data and ad_personalization follow them.
US_CONSENT_MODE_OPT_OUTS = {
    "ad_user_data": SALE_SHARE,
    "ad_personalization": TARGETED_ADVERTISING,
}


def consent_mode_opt_outs(group: str, offered: set[str]) -> dict[str, list[str]]:
    """Consent Mode signal -> the offered purposes whose opt-out also denies it (US only)."""
    if group != "us":
        return {}
    return {signal: [key] for signal, key in US_CONSENT_MODE_OPT_OUTS.items() if key in offered}


def config_generation_key(organization_id: int) -> str:
    return f"kz:config-generation:{organization_id}"


def forget_configs(organization_id: int) -> None:
    """Make every cached banner config and site entry of this organization stale (now, and
    again when the edit commits, so a config built from the old rows meanwhile is dropped)."""

    def new_generation():
        cache.set(config_generation_key(organization_id), time.time_ns(), None)

    new_generation()
    transaction.on_commit(new_generation)
    for site_key in Site.objects.filter(organization_id=organization_id).values_list(
        "key", flat=True
    ):
        memo.forget(site_entry_key(site_key))


def cached_banner_config(site: Site, *, language: str, jurisdiction: str) -> dict:
    """banner_config, computed once per organization generation, language and jurisdiction."""
    generation_key = config_generation_key(site.organization_id)
    generation = cache.get(generation_key)
    if generation is None:
        generation = time.time_ns()
        cache.add(generation_key, generation, None)
        generation = cache.get(generation_key, generation)
    key = f"kz:config:{site.pk}:{generation}:{language}:{jurisdiction}"
    config = cache.get(key)
    if config is None:
        config = banner_config(site, language=language, jurisdiction=jurisdiction)
        cache.set(key, config, CONFIG_CACHE_SECONDS)
    return config


def config_version(config: dict) -> str:
    body = {k: v for k, v in config.items() if k != "config_version"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


def embed_snippet(site: Site) -> str:
    """The tag to paste into the site's <head>, first, before any other script."""
    base = settings.PUBLIC_BASE_URL
    return (
        f'<script src="{base}/static/kaizen/banner.js" data-site-key="{site.key}" '
        f'data-api="{base}"></script>'
    )
