"""Every text of the console is in the Chinese catalogue: a page never shows an English message id."""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from console.errors import GENERIC, MESSAGES
from console.i18n import DEFAULT_LOCALE, DOMAIN, catalogue_path, translations
from hub.access.accounts import Kind
from hub.supervision.alerts import AlertStatus
from hub.supervision.complaints import Cause, ComplaintStatus, Complexity, Resolution
from hub.supervision.timing import TimingState
from storage.models.cases import CaseStatus, Decision, PauseReason

CONSOLE = Path(__file__).resolve().parents[2] / "console"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def test_the_compiled_catalogue_says_what_its_po_says():
    """The console loads the .mo; people edit the .po. After an edit, `make messages`."""
    with catalogue_path(DEFAULT_LOCALE, ".po").open("rb") as po:
        compiled = io.BytesIO()
        write_mo(compiled, read_po(po, locale=DEFAULT_LOCALE, domain=DOMAIN))
    compiled.seek(0)
    from_po = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    loaded = translations()._catalog  # type: ignore[attr-defined]
    assert len(from_po) > 100
    # Keyed by message id; "" is the header, which names the Babel version that compiled it.
    assert {k: v for k, v in loaded.items() if k != ""} == {k: v for k, v in from_po.items() if k != ""}


def _untranslated(ids: list[str]) -> list[str]:
    catalogue = translations()
    return [message for message in ids if catalogue.gettext(message) == message]


def test_every_message_of_the_templates_and_views_is_translated():
    found = [
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(CONSOLE, METHODS, options_map=OPTIONS)
    ]
    assert len(found) > 100
    assert _untranslated(found) == []


def test_every_error_kind_and_decision_shown_is_translated():
    shown = [*MESSAGES.values(), GENERIC, *(kind.value for kind in Kind)]
    shown += [f"decision:{decision.value}" for decision in Decision]
    shown += [f"timing:{state.value}" for state in TimingState] + ["card:yellow", "card:red"]
    shown += [f"alert:{status.value}" for status in AlertStatus]
    shown += [f"complaint:{status.value}" for status in ComplaintStatus]
    shown += [f"cause:{cause.value}" for cause in Cause] + [f"complexity:{c.value}" for c in Complexity]
    shown += [f"resolution:{resolution.value}" for resolution in Resolution]
    shown += [status.value for status in CaseStatus] + [f"pause:{reason.value}" for reason in PauseReason]
    assert _untranslated(shown) == []
