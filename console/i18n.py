"""The console's texts: English message ids in the templates, one catalogue per language.

A language's catalogue is its .po file (locale/<locale>/LC_MESSAGES/console.po, the one to edit)
and the .mo compiled from it beside it, which the console loads with the standard library's
gettext. `make messages` compiles them (Babel's `pybabel compile`); tests/console/test_catalogue.py
fails while a .mo does not say what its .po says. Reading the .po at start-up instead (Babel's
read_po) cost every serving process 3 MiB for good: Babel's table of locale aliases, loaded to
read the catalogue's Language header (docs/documents.md, "Memory, fourth pass").
"""

from __future__ import annotations

import gettext as stdlib_gettext
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "console"
DEFAULT_LOCALE = "zh_CN"


def catalogue_path(locale: str, suffix: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@cache
def translations(locale: str = DEFAULT_LOCALE) -> stdlib_gettext.GNUTranslations:
    with catalogue_path(locale, ".mo").open("rb") as compiled:
        return stdlib_gettext.GNUTranslations(compiled)


def gettext(message: str) -> str:
    return translations().gettext(message)
