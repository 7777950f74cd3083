"""Checks and normalisation of the codes people type in (registry, grid, imports).

Every function takes what a person (or a spreadsheet) gave and returns the stored form, or raises
``ValidationError`` with a specific message and code. Nothing here touches the database.

* Resident ID numbers: GB 11643-1999 (18 characters, check character ``0-9``/``X``).
* Unified social credit codes: GB 32100-2015 (18 characters over ``0-9A-HJ-NP-RTUWXY``).
* Mobile numbers: 11 digits starting with 1[3-9] (the core's ``clean_mobile``).
"""

from __future__ import annotations

import operator
import re
import unicodedata
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.personal import clean_mobile

# --- Text ---------------------------------------------------------------------------------------

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
# Middle dots people use inside transliterated names (阿不都·热合曼).
_DOTS = re.compile(r"[.\u00b7\u2022\u2027\u30fb\uff0e\uff65\u318d]")
_NAME_OK = re.compile(rf"^[{_CJK}A-Za-z·' \-]+$")
NAME_MAX_LENGTH = 50


def normalize_text(value: object) -> str:
    """Full-width letters, digits and spaces to half-width; runs of whitespace to one space."""
    if value is None or value == "":  # most cells of a ledger
        return ""
    text = str(value)
    if not text.isascii():  # NFKC leaves ASCII as it is
        text = unicodedata.normalize("NFKC", text)
    # str.split() and the regex \s agree on what whitespace is; the split is the cheaper of the two
    # (imports call this for every cell).
    return " ".join(text.split())


_CODE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def normalize_code(value: object) -> str:
    """A code as stored: half-width, no spaces or dashes, upper case (``１１０１ 05`` → ``110105``)."""
    return _CODE_SEPARATORS.sub("", normalize_text(value)).upper()


def clean_person_name(value: object) -> str:
    """A person's name: Chinese characters or Latin letters, with the middle dot of transliterated
    names; spaces inside a Chinese name (ledgers pad ``张  三``) are dropped."""
    name = _SPACE_BETWEEN_CJK.sub("", normalize_text(value))
    name = _DOTS.sub("·", name)
    if not name:
        raise ValidationError(_("Enter the person's name."), code="required")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            _("A name has at most %(n)d characters.") % {"n": NAME_MAX_LENGTH}, code="max_length"
        )
    if not _NAME_OK.match(name):
        raise ValidationError(
            _("A name may contain only Chinese characters, letters and the middle dot (·)."),
            code="invalid_name",
        )
    return name


# --- Resident ID numbers (GB 11643-1999) ---------------------------------------------------------

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
OLDEST_BIRTH_YEAR = 1880


def id_check_char(first17: str) -> str:
    """The check character of an ID number from its first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need 17 digits")
    total = sum(map(operator.mul, map(int, first17), ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


def _birth_date_of(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def clean_resident_id(value: object, *, today: date | None = None) -> str:
    """An 18-character resident ID number in stored form, checked digit by digit.

    Accepts full-width digits, spaces and a lower-case ``x``; refuses the old 15-digit numbers
    (out of use since 2013) with a message that says so."""
    number = normalize_code(value)
    if not number:
        raise ValidationError(_("Enter the ID number."), code="required")
    if len(number) == 15 and number.isdigit():
        raise ValidationError(
            _("This is an old 15-digit ID number; enter the 18-character number of the current card."),
            code="id_old_format",
        )
    if len(number) != 18:
        raise ValidationError(
            _("A resident ID number has 18 characters; this one has %(n)d.") % {"n": len(number)},
            code="id_length",
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError(
            _("A resident ID number is 17 digits followed by a digit or X."), code="id_characters"
        )
    born = _birth_date_of(number)
    if born is None or born.year < OLDEST_BIRTH_YEAR or _in_future(born, today):
        raise ValidationError(
            _("Characters 7 to 14 of the ID number are not a valid birth date."), code="id_birth_date"
        )
    if id_check_char(number[:17]) != number[17]:
        raise ValidationError(
            _("The ID number's check character does not match: check for a mistyped digit."),
            code="id_checksum",
        )
    return number


def _in_future(day: date, today: date | None) -> bool:
    # Only a date within days of now needs the site's local date (costly, per row of an import):
    # the machine's date is never more than a day away from it.
    if today is None and day < date.today() - timedelta(days=2):
        return False
    return day > (today or timezone.localdate())


def is_valid_resident_id(value: object) -> bool:
    try:
        clean_resident_id(value)
    except ValidationError:
        return False
    return True


def resident_id_birth_date(number: str) -> date:
    """The birth date coded in a valid 18-character ID number."""
    born = _birth_date_of(number)
    if born is None:
        raise ValueError("not a valid ID number")
    return born


def resident_id_sex(number: str) -> str:
    """``"male"`` for an odd sequence digit (the 17th character), ``"female"`` for an even one."""
    return "male" if int(number[16]) % 2 else "female"


# Other identity documents: the forms in use, checked loosely (their numbers have no public checksum).
_HK_MACAO_PERMIT = re.compile(r"^[HM]\d{8}(\d{2})?$")
_TAIWAN_PERMIT = re.compile(r"^\d{8}(\d{2})?$")
_FOREIGN_PR_OLD = re.compile(r"^[A-Z]{3}\d{12}$")
_PASSPORT = re.compile(r"^[A-Z0-9]{5,17}$")
_OTHER_DOCUMENT = re.compile(r"^[A-Z0-9]{4,30}$")
# Residence permits for Hong Kong/Macao (81/82), Taiwan (83) and the 2023 foreigners' permanent
# residence card (9…) use the 18-character layout and checksum of the resident ID.
_GB11643_PREFIXES = {"hk_macao": ("81", "82"), "taiwan": ("83",), "foreign_permanent": ("9",)}


def clean_id_number(id_type: str, value: object, *, today: date | None = None) -> str:
    """The stored form of an identity document number of ``id_type`` (see ``models.IdType``)."""
    if id_type == "resident_id":
        return clean_resident_id(value, today=today)
    number = normalize_code(value)
    if not number:
        raise ValidationError(_("Enter the document number."), code="required")
    prefixes = _GB11643_PREFIXES.get(id_type)
    if prefixes and len(number) == 18 and number.startswith(prefixes):
        return clean_resident_id(number, today=today)
    patterns = {
        "hk_macao": (
            _HK_MACAO_PERMIT,
            _("A Hong Kong/Macao permit number is H or M followed by 8 or 10 digits."),
        ),
        "taiwan": (_TAIWAN_PERMIT, _("A Taiwan permit number has 8 or 10 digits.")),
        "foreign_permanent": (
            _FOREIGN_PR_OLD,
            _("A permanent residence card number is 3 letters and 12 digits, or 18 characters."),
        ),
        "passport": (_PASSPORT, _("A passport number has 5 to 17 letters and digits.")),
        "other": (_OTHER_DOCUMENT, _("A document number has 4 to 30 letters and digits.")),
    }
    if id_type not in patterns:
        raise ValidationError(_("Unknown type of identity document."), code="id_type")
    pattern, message = patterns[id_type]
    if not pattern.match(number):
        raise ValidationError(message, code="id_format")
    return number


# --- Unified social credit codes (GB 32100-2015) -------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def clean_uscc(value: object) -> str:
    """An 18-character unified social credit code in stored form; '' stays ''."""
    code = normalize_code(value)
    if not code:
        return ""
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(n)d.") % {"n": len(code)},
            code="uscc_length",
        )
    bad = sorted({c for c in code if c not in _USCC_VALUE})
    if bad:
        raise ValidationError(
            _("A unified social credit code cannot contain %(chars)s (I, O, S, V and Z are never used).")
            % {"chars": ", ".join(bad)},
            code="uscc_characters",
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("The credit code's check character does not match: check for a mistyped character."),
            code="uscc_checksum",
        )
    return code


# --- Phones -------------------------------------------------------------------------------------

_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def clean_phone(value: object) -> str:
    """A person's mobile number (11 digits, 1[3-9]…); '' stays ''."""
    return clean_mobile(normalize_text(value))


def clean_contact_phone(value: object) -> str:
    """An organization's contact number: a mobile, or a landline with its area code
    (``0731-88881234`` → ``073188881234``); '' stays ''."""
    compact = normalize_code(value)
    if not compact:
        return ""
    if _LANDLINE.match(compact):
        return compact
    try:
        return clean_mobile(compact)
    except ValidationError as exc:
        raise ValidationError(
            _("Enter an 11-digit mobile number or a landline with its area code, for example 0731-88881234."),
            code="invalid_phone",
        ) from exc


# --- Region codes -------------------------------------------------------------------------------

_REGION_CODE = re.compile(r"^\d{2}(\d{2}){0,2}(\d{3}){0,3}$")


def clean_region_code(value: object) -> str:
    """A division code with its significant digits (``430104``), or a 12-digit statistical code
    whose trailing zeros are dropped; '' stays ''."""
    code = normalize_code(value)
    if not code:
        return ""
    if len(code) == 12 and code.isdigit():
        # Statistical codes pad each level with zeros: 430104000000 → 430104.
        for n in (12, 9, 6, 4, 2):
            if code[n - (3 if n > 6 else 2) : n].strip("0"):
                code = code[:n]
                break
    if len(code) not in (2, 4, 6, 9, 12, 15) or not _REGION_CODE.match(code):
        raise ValidationError(
            _("Enter a division code such as 430104 or 430104002001."), code="invalid_region"
        )
    return code
