"""Turning what a person typed into canonical values (SPEC §4: input normalisation, login ID)."""

from __future__ import annotations

import functools
import inspect
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from bene_tui.core.errors import ValidationError

MAX_FIELD = 256  # no legitimate field of these forms is longer
# Parameters of the service entry points that carry an id (checked by `ids_checked`).
ID_PARAMS = ("flow_id", "login_id", "group_id", "service_id", "account_id", "invitation_id", "message_id",
             "member_id", "token", "ref", "recipient")
_SQLITE_INT = range(-(2**63), 2**63)  # a larger int is an OverflowError in sqlite3
# Control characters, invisible direction marks, and lone surrogates (they cannot even be stored: SQLite wants UTF-8).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
# What a typed phone number may contain: digits, +, brackets, dots, spaces and the dashes Japanese keyboards make.
_PHONE_CHARS = re.compile(r"[0-9+() .\-\u2010-\u2015\u2212\u30fc\ufe63]+")


def ids_checked(fn):
    """Guard a service entry: each id parameter (ID_PARAMS) must have its annotated type.

    A row id is an int SQLite can hold (never a bool); a text id is a str without lone surrogates
    (SQLite cannot store them). Anything else is a ValidationError before the service runs, so a
    hostile or buggy caller gets the project's own error, never a TypeError or a sqlite3 one.
    """
    signature = inspect.signature(fn)
    expected = {}
    for name, param in signature.parameters.items():
        if name in ID_PARAMS:
            if param.annotation is param.empty:
                raise TypeError(f"{fn.__qualname__}: annotate {name} with the type its ids have")
            kind = param.annotation  # a string under `from __future__ import annotations`: "int", "str | None"
            expected[name] = eval(kind, fn.__globals__) if isinstance(kind, str) else kind
    if not expected:
        raise TypeError(f"{fn.__qualname__} takes none of the id parameters {ID_PARAMS}")

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        for name, value in bound.arguments.items():
            if name in expected:
                _check_id(name, value, expected[name])
        return fn(*args, **kwargs)

    return checked


def _check_id(name: str, value: object, expected) -> None:
    if isinstance(value, bool) or not isinstance(value, expected):
        raise ValidationError("error.unexpected", field=name,
                              staff=f"{name} is a {type(value).__name__}, not {expected}")
    if isinstance(value, int) and value not in _SQLITE_INT:
        raise ValidationError("error.unexpected", field=name, staff=f"{name} is beyond SQLite's 64-bit integers")
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: what clean() says of typed text
            raise ValidationError("error.control_chars", field=name) from None


def clean(value: object, field: str, *, max_len: int = MAX_FIELD, required: bool = True) -> str:
    """NFKC, trim, refuse control characters and overlong input; full-width digits become ASCII."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if len(text) > max_len:
        raise ValidationError("error.too_long", field=field, max=max_len)
    if _CONTROL.search(text):
        raise ValidationError("error.control_chars", field=field)
    if required and not text:
        raise ValidationError("error.required", field=field)
    return text


def clean_name(value: object, field: str) -> str:
    """Names: NFKC folds full-width spaces; runs of spaces become one."""
    return re.sub(r"\s+", " ", clean(value, field, max_len=100))


def clean_kana(value: object, field: str) -> str:
    """Katakana names; NFKC turns half-width ｶﾅ into full-width カナ. Hiragana is accepted as katakana."""
    text = clean_name(value, field)
    text = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)
    if not re.fullmatch(r"[\u30a0-\u30ff ]+", text):
        raise ValidationError("error.kana", field=field)
    return text


def compact(text: str) -> str:
    """For comparing names and kana regardless of spacing."""
    return re.sub(r"\s+", "", text)


def clean_date(value: object, field: str) -> str:
    """A birth date as YYYY-MM-DD; accepts 1985-04-01, 1985/4/1, 19850401 and full-width digits."""

    text = clean(value, field, max_len=20)
    # ASCII digits only: re's \d would also take Arabic-Indic and other scripts' digits.
    m = re.fullmatch(r"([0-9]{4})[-/.年]?([0-9]{1,2})[-/.月]?([0-9]{1,2})日?", text)
    if not m or (text.isdigit() and len(text) != 8):  # digits only: exactly YYYYMMDD
        raise ValidationError("error.date", field=field)
    try:
        d = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValidationError("error.date", field=field) from None
    if d.year < 1900:
        raise ValidationError("error.date", field=field)
    return d.isoformat()


@dataclass(frozen=True)
class LoginId:
    kind: str  # "email" or "sms"
    value: str  # canonical: address with lower-case domain, or E.164

    @property
    def channel(self) -> str:
        return self.kind

    @property
    def key(self) -> str:
        """What uniqueness is decided on: accounts.login_key."""
        return login_key(self.value)


def login_key(value: str) -> str:
    return value.casefold()


def email(value: object, field: str = "login_id") -> str:
    # start-up: normalize is on the start path; email-validator loads only for an e-mail address
    from email_validator import EmailNotValidError, validate_email

    text = clean(value, field, max_len=254)
    try:
        # ASCII local parts only: the mail systems behind a Bene Account do not take SMTPUTF8.
        info = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise ValidationError("error.email", field=field) from None
    return f"{info.local_part}@{info.domain.lower()}"


def mobile(value: object, field: str = "login_id") -> str:
    """A Japanese mobile number (070/080/090) in E.164."""
    # start-up: normalize is on the start path; phonenumbers' metadata loads only for a mobile number
    import phonenumbers

    text = clean(value, field, max_len=32)
    if not _PHONE_CHARS.fullmatch(text):  # phonenumbers alone would skip letters ("ABC090...", "... ext 5")
        raise ValidationError("error.mobile", field=field)
    try:
        number = phonenumbers.parse(text, "JP")
    except phonenumbers.NumberParseException:
        raise ValidationError("error.mobile", field=field) from None
    if (
        number.country_code != 81
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise ValidationError("error.mobile", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def login_id(value: object, kind: str | None = None, field: str = "login_id") -> LoginId:
    """Parse a login ID. With no kind given, an '@' means e-mail, anything else a mobile number."""
    text = clean(value, field, max_len=254)
    if kind is None:
        kind = "email" if "@" in text else "sms"
    if kind == "email":
        return LoginId("email", email(text, field))
    return LoginId("sms", mobile(text, field))


def national_mobile(e164: str) -> str:
    """+819012345678 → 090-1234-5678."""
    digits = "0" + e164[3:] if e164.startswith("+81") else e164
    return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"


def display_login_id(value: str) -> str:
    return national_mobile(value) if value.startswith("+") else value


def mask(value: str) -> str:
    """ta****@ex*****.jp for e-mail, 090-****-5678 for a mobile number."""
    if value.startswith("+"):
        n = national_mobile(value)
        return f"{n[:3]}-****-{n[-4:]}"
    local, _, domain = value.partition("@")
    head, dot, tld = domain.rpartition(".")
    if not dot:
        head, tld = domain, ""
    masked_local = local[:2] + "*" * max(len(local) - 2, 2)
    masked_head = head[:2] + "*" * max(len(head) - 2, 2)
    return f"{masked_local}@{masked_head}{dot}{tld}"
