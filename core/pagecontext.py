"""What base.html shows around every page, found from the page's own template context.

- ``error_summary()``: the errors of every form of the page that was refused, as (message,
  anchor) pairs for the summary at the top of ``<main>`` (GOV.UK's error summary): one
  mechanism for every form, so no page has to place its own summary.

A form whose fields are drawn by hand with other element ids than their own (the moderation
pages draw one answer form per opinion) says where each field is with ``error_anchors``:
``{"field name": "element-id"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import pass_context
from wtforms import Form
from wtforms.fields import HiddenField, RadioField

#: Context variables holding a message that belongs to no field (shown in the summary too).
PAGE_ERROR_NAMES = ("action_error",)


@dataclass(frozen=True)
class Problem:
    message: str
    #: The id of the element to jump to, or None for a message about the whole form.
    anchor: str | None = None


def _messages(errors: Any) -> list[str]:
    """Flatten a field's errors (a list, or nested for enclosed forms) into strings."""
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in _messages(value)]
    if isinstance(errors, list | tuple):
        return [m for value in errors for m in _messages(value)]
    return [str(errors)] if errors else []


def _anchor(form: Form, name: str, field: Any) -> str | None:
    anchors = getattr(form, "error_anchors", None) or {}
    if name in anchors:
        return anchors[name]
    if isinstance(field, HiddenField):  # the CSRF token and other hidden fields: nothing to jump to
        return None
    if isinstance(field, RadioField):  # _macros/forms.html radios(): the first choice
        return f"{field.id}-0"
    return field.id


def form_problems(form: Form) -> list[Problem]:
    problems: list[Problem] = []
    for name, field in form._fields.items():
        for message in _messages(field.errors):
            problems.append(Problem(message, _anchor(form, name, field)))
    choice_error = getattr(form, "opinion_ids_error", None)  # moderation's group answer
    if choice_error:
        anchors = getattr(form, "error_anchors", None) or {}
        problems.insert(0, Problem(str(choice_error), anchors.get("opinion_ids")))
    for message in getattr(form, "form_errors", None) or []:
        problems.append(Problem(str(message)))
    return problems


def _forms_in(value: Any) -> list[Form]:
    if isinstance(value, Form):
        return [value]
    if isinstance(value, dict):  # e.g. moderation's ``failed = {"kind", "opinion_id", "form"}``
        return [v for v in value.values() if isinstance(v, Form)]
    return []


@pass_context
def error_summary(ctx) -> list[Problem]:
    """Every error of every refused form in the page's context, in the order they were passed."""
    problems: list[Problem] = []
    seen: set[int] = set()
    for name, value in ctx.get_all().items():
        if name in PAGE_ERROR_NAMES and isinstance(value, str) and value:
            problems.append(Problem(value))
            continue
        for form in _forms_in(value):
            if id(form) in seen:
                continue
            seen.add(id(form))
            problems.extend(form_problems(form))
    # One line per message and place: a message can reach a form twice (service and validator).
    unique = list(dict.fromkeys(problems))
    return unique


def init_app(app) -> None:
    app.jinja_env.globals.update(error_summary=error_summary)
