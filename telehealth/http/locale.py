"""What a browser's languages say about how to write for its reader."""

from __future__ import annotations

# Where people read a 12-hour clock (CLDR's preferred hour cycle "h"), for the languages the
# clinic's patients write to it in: English in these regions (or with no region), and a few
# languages that use it everywhere. Every other language and region reads a 24-hour clock.
_TWELVE_HOUR_ENGLISH = frozenset({"", "US", "CA", "AU", "NZ", "IN", "PH"})
_TWELVE_HOUR_LANGUAGES = frozenset({"hi", "ar", "ko"})


def uses_12_hour_clock(accept_language: str) -> bool:
    """Whether the first language a browser asks for reads a 12-hour clock ("en-US" does,
    "en-GB", "fr-CA" and "es-ES" do not); no header: yes, the clinic's own default (en-US)."""
    first = accept_language.split(",")[0].split(";")[0].strip()
    if not first or first == "*":
        return True
    language, _, rest = first.replace("_", "-").partition("-")
    language, region = language.lower(), rest.split("-")[-1].upper() if rest else ""
    if language == "en":
        return region in _TWELVE_HOUR_ENGLISH
    if language == "es":
        return region == "US"
    return language in _TWELVE_HOUR_LANGUAGES
