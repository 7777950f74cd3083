"""The one cleaner for text people send: pages' forms (through the services), the JSON API's
schemas, Open311 and file imports all refuse the same characters with the same message.

Refused: NUL and the other control characters (C0 and C1, DEL), lone surrogates (PostgreSQL and
UTF-8 cannot store them) and the non-characters U+FFFE/U+FFFF (XML cannot carry them). Multi-line
text keeps line breaks and tabs; one-line text refuses them too.

What a person wrote is otherwise kept as written: no NFKC, no folding of full-width punctuation
(``入户看望，老人…`` stays so). Normalising belongs to codes, identifiers and search keys only
(``registry.validators.normalize_code``, the search and classifier keys).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_REFUSED = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
_REFUSED_MULTILINE = re.compile(f"[{_REFUSED}]")
_REFUSED_LINE = re.compile(f"[{_REFUSED}\t\n\r]")


def control_character(value: str, *, multiline: bool = True) -> str | None:
    """The first refused character of ``value`` as ``U+XXXX``, or None when there is none."""
    found = (_REFUSED_MULTILINE if multiline else _REFUSED_LINE).search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def clean_text(value: Any, *, multiline: bool = False, field: str | None = None) -> str:
    """``value`` as text without surrounding white space (Windows line ends become ``\\n``).

    Raises ``ValidationError`` (code ``control_character``; keyed by ``field`` when given) for a
    refused character, instead of dropping it: a stored text is what its writer sent, or nothing.
    """
    text = "" if value is None else str(value)
    if multiline:
        text = text.replace("\r\n", "\n")
    text = text.strip()
    found = control_character(text, multiline=multiline)
    if found is not None:
        error = ValidationError(
            _("Remove the invisible control character (%(char)s) from this text.")
            if multiline
            else _("Remove the line break or invisible control character (%(char)s) from this text."),
            code="control_character",
            params={"char": found},
        )
        raise ValidationError({field: error}) if field else error
    return text


def bounded_text(
    value: Any,
    field: str,
    max_length: int,
    *,
    required: bool = False,
    label: str = "",
    multiline: bool = False,
) -> str:
    """``clean_text`` for a service's argument: refused when required and empty or when longer
    than ``max_length``, with the error keyed by ``field`` and naming it by ``label``."""
    cleaned = clean_text(value, multiline=multiline, field=field)
    if required and not cleaned:
        raise ValidationError({field: _("%(label)s is required.") % {"label": label or field}})
    if len(cleaned) > max_length:
        raise ValidationError(
            {
                field: _("%(label)s is too long: at most %(n)d characters.")
                % {"label": label or field, "n": max_length}
            }
        )
    return cleaned


def check_line(value: str) -> str:
    """pydantic validator of one-line text: refused characters are a 400, the text is kept as sent."""
    found = control_character(value, multiline=False)
    if found is not None:
        raise ValueError(f"line breaks and control characters are not allowed ({found})")
    return value


def check_multiline(value: str) -> str:
    """pydantic validator of multi-line text (line breaks and tabs allowed)."""
    found = control_character(value, multiline=True)
    if found is not None:
        raise ValueError(f"control characters are not allowed ({found})")
    return value
