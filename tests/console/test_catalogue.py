"""Every text of the console is in the Chinese catalogue: a page never shows an English message id."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from console.errors import GENERIC, MESSAGES
from console.i18n import translations
from hub.access.accounts import Kind
from hub.supervision.alerts import AlertStatus
from hub.supervision.complaints import Cause, ComplaintStatus, Complexity, Resolution
from hub.supervision.timing import TimingState
from storage.models.cases import CaseStatus, Decision, PauseReason

CONSOLE = Path(__file__).resolve().parents[2] / "console"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


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
