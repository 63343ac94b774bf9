"""The console's texts: English message ids in the templates, one catalogue per language (Babel).

The zh_CN catalogue is read from its .po file and compiled in memory when the console starts, so
there is no build step; another language is another .po file beside it.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "console"
DEFAULT_LOCALE = "zh_CN"


@cache
def translations(locale: str = DEFAULT_LOCALE) -> Translations:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(message: str) -> str:
    return translations().gettext(message)
