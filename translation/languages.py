"""Language names (each in itself) and writing direction, by ISO 639-1 code."""

from __future__ import annotations

_ENDONYMS: dict[str, str] = {
    "af": "Afrikaans",
    "be": "Беларуская",
    "bs": "Bosanski",
    "mt": "Malti",
    "ar": "العربية",
    "az": "Azərbaycanca",
    "bg": "Български",
    "bn": "বাংলা",
    "ca": "Català",
    "cs": "Čeština",
    "cy": "Cymraeg",
    "da": "Dansk",
    "de": "Deutsch",
    "el": "Ελληνικά",
    "en": "English",
    "eo": "Esperanto",
    "es": "Español",
    "et": "Eesti",
    "eu": "Euskara",
    "fa": "فارسی",
    "fi": "Suomi",
    "fr": "Français",
    "ga": "Gaeilge",
    "gl": "Galego",
    "he": "עברית",
    "hi": "हिन्दी",
    "hr": "Hrvatski",
    "hu": "Magyar",
    "hy": "Հայերեն",
    "id": "Bahasa Indonesia",
    "is": "Íslenska",
    "it": "Italiano",
    "ja": "日本語",
    "ka": "ქართული",
    "kk": "Қазақ тілі",
    "ko": "한국어",
    "lt": "Lietuvių",
    "lv": "Latviešu",
    "mk": "Македонски",
    "ms": "Bahasa Melayu",
    "nb": "Norsk bokmål",
    "nl": "Nederlands",
    "no": "Norsk",
    "pl": "Polski",
    "pt": "Português",
    "pb": "Português (Brasil)",
    "ro": "Română",
    "ru": "Русский",
    "sk": "Slovenčina",
    "sl": "Slovenščina",
    "sq": "Shqip",
    "sr": "Српски",
    "sv": "Svenska",
    "sw": "Kiswahili",
    "ta": "தமிழ்",
    "th": "ไทย",
    "tl": "Tagalog",
    "tr": "Türkçe",
    "uk": "Українська",
    "ur": "اردو",
    "vi": "Tiếng Việt",
    "zh": "中文",
    "zt": "中文（繁體）",
    "yi": "ייִדיש",
}

_RTL = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "dv", "ug", "ckb", "sd", "iw"})

#: Languages written without spaces between sentences (and words).
NO_SPACE_LANGUAGES = frozenset({"zh", "zt", "ja", "th"})


def primary_subtag(code: str) -> str:
    """'pt-BR' / 'zh_Hant' -> 'pt' / 'zh': names and direction follow the primary subtag."""
    return code.replace("_", "-").split("-", 1)[0].lower()


def language_name(code: str) -> str:
    """The language's name in itself ("de" -> "Deutsch"); the code when unknown."""
    return _ENDONYMS.get(code) or _ENDONYMS.get(primary_subtag(code)) or code


def is_rtl(code: str) -> bool:
    """True for languages written right to left (Arabic, Hebrew, Persian, Urdu...)."""
    return primary_subtag(code) in _RTL
