"""The banner's shipped default words. A site's BannerText overrides them field by field."""

# Languages written right to left (primary subtag).
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "yi", "ps", "dv", "ckb"})
FALLBACK_LANGUAGE = "en"

# Fields a site may override in the admin (BannerText) and the extra words the banner needs.
OVERRIDABLE_FIELDS = (
    "title",
    "description",
    "accept_all",
    "reject_all",
    "preferences",
    "save_choices",
    "close",
)

DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your privacy choices",
        "description": (
            "We use cookies and similar technologies. Strictly necessary ones keep the site "
            "working; the others only run if you allow them. You can change your choice at any "
            "time."
        ),
        "accept_all": "Accept all",
        "reject_all": "Reject all",
        "preferences": "Preferences",
        "save_choices": "Save choices",
        "close": "Close",
        "preferences_title": "Privacy preferences",
        "always_on": "Always on",
        "cookies": "Cookies and services",
        "cookie_name": "Name",
        "cookie_domain": "Domain",
        "cookie_lifetime": "Lifetime",
        "cookie_provider": "Provider",
        "privacy_policy": "Privacy policy",
        "reopen": "Privacy choices",
        "preference_center": "All privacy choices",
        "gpc_honored": (
            "Opt-out request honored: your browser sent a Global Privacy Control signal, so we "
            "do not sell or share your personal information."
        ),
    },
    "de": {
        "title": "Ihre Datenschutz-Einstellungen",
        "description": (
            "Wir verwenden Cookies und ähnliche Technologien. Unbedingt notwendige halten die "
            "Website am Laufen; alle anderen nur, wenn Sie zustimmen. Sie können Ihre Wahl "
            "jederzeit ändern."
        ),
        "accept_all": "Alle akzeptieren",
        "reject_all": "Alle ablehnen",
        "preferences": "Einstellungen",
        "save_choices": "Auswahl speichern",
        "close": "Schließen",
        "preferences_title": "Datenschutz-Einstellungen",
        "always_on": "Immer aktiv",
        "cookies": "Cookies und Dienste",
        "cookie_name": "Name",
        "cookie_domain": "Domain",
        "cookie_lifetime": "Speicherdauer",
        "cookie_provider": "Anbieter",
        "privacy_policy": "Datenschutzerklärung",
        "reopen": "Datenschutz-Einstellungen",
        "preference_center": "Alle Datenschutz-Optionen",
        "gpc_honored": (
            "Widerspruch berücksichtigt: Ihr Browser sendet ein Global-Privacy-Control-Signal; "
            "wir verkaufen oder teilen Ihre personenbezogenen Daten daher nicht."
        ),
    },
    "fr": {
        "title": "Vos choix de confidentialité",
        "description": (
            "Nous utilisons des cookies et des technologies similaires. Les cookies strictement "
            "nécessaires font fonctionner le site ; les autres ne sont utilisés qu'avec votre "
            "accord. Vous pouvez modifier votre choix à tout moment."
        ),
        "accept_all": "Tout accepter",
        "reject_all": "Tout refuser",
        "preferences": "Personnaliser",
        "save_choices": "Enregistrer mes choix",
        "close": "Fermer",
        "preferences_title": "Préférences de confidentialité",
        "always_on": "Toujours actif",
        "cookies": "Cookies et services",
        "cookie_name": "Nom",
        "cookie_domain": "Domaine",
        "cookie_lifetime": "Durée",
        "cookie_provider": "Fournisseur",
        "privacy_policy": "Politique de confidentialité",
        "reopen": "Choix de confidentialité",
        "preference_center": "Tous vos choix de confidentialité",
        "gpc_honored": (
            "Demande d'opposition respectée : votre navigateur envoie un signal Global Privacy "
            "Control, nous ne vendons donc ni ne partageons vos données personnelles."
        ),
    },
    "es": {
        "title": "Sus opciones de privacidad",
        "description": (
            "Usamos cookies y tecnologías similares. Las estrictamente necesarias hacen que el "
            "sitio funcione; las demás solo se usan si usted lo permite. Puede cambiar su "
            "elección en cualquier momento."
        ),
        "accept_all": "Aceptar todo",
        "reject_all": "Rechazar todo",
        "preferences": "Preferencias",
        "save_choices": "Guardar selección",
        "close": "Cerrar",
        "preferences_title": "Preferencias de privacidad",
        "always_on": "Siempre activas",
        "cookies": "Cookies y servicios",
        "cookie_name": "Nombre",
        "cookie_domain": "Dominio",
        "cookie_lifetime": "Duración",
        "cookie_provider": "Proveedor",
        "privacy_policy": "Política de privacidad",
        "reopen": "Opciones de privacidad",
        "preference_center": "Todas las opciones de privacidad",
        "gpc_honored": (
            "Solicitud de exclusión respetada: su navegador envía una señal Global Privacy "
            "Control, por lo que no vendemos ni compartimos sus datos personales."
        ),
    },
    "ar": {
        "title": "خيارات الخصوصية الخاصة بك",
        "description": (
            "نستخدم ملفات تعريف الارتباط وتقنيات مشابهة. الضرورية منها تُبقي الموقع يعمل، "
            "ولا نستخدم الباقي إلا بموافقتك. يمكنك تغيير اختيارك في أي وقت."
        ),
        "accept_all": "قبول الكل",
        "reject_all": "رفض الكل",
        "preferences": "التفضيلات",
        "save_choices": "حفظ الاختيارات",
        "close": "إغلاق",
        "preferences_title": "تفضيلات الخصوصية",
        "always_on": "مفعّلة دائمًا",
        "cookies": "ملفات تعريف الارتباط والخدمات",
        "cookie_name": "الاسم",
        "cookie_domain": "النطاق",
        "cookie_lifetime": "المدة",
        "cookie_provider": "المزوّد",
        "privacy_policy": "سياسة الخصوصية",
        "reopen": "خيارات الخصوصية",
        "preference_center": "جميع خيارات الخصوصية",
        "gpc_honored": (
            "تم احترام طلب الانسحاب: يرسل متصفحك إشارة التحكم العالمي في الخصوصية (GPC)، "
            "لذلك لا نبيع بياناتك الشخصية ولا نشاركها."
        ),
    },
}


def primary_subtag(language: str) -> str:
    return (language or "").split("-")[0].lower()


def is_right_to_left(language: str) -> bool:
    return primary_subtag(language) in RTL_LANGUAGES


def default_texts(language: str) -> dict[str, str]:
    """The shipped words for `language` (exact, then primary subtag), English filling gaps."""
    texts = dict(DEFAULT_TEXTS[FALLBACK_LANGUAGE])
    texts.update(DEFAULT_TEXTS.get(language) or DEFAULT_TEXTS.get(primary_subtag(language), {}))
    return texts
