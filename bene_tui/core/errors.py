"""Domain errors. Each carries a catalogue key so the screen can say it in either language."""

from __future__ import annotations


class BeneError(Exception):
    """A user-facing refusal: `key` is an i18n key, `field` the input it concerns.

    `staff` is the real reason, shown to helpdesk staff only (never to the user).
    """

    def __init__(self, key: str, field: str | None = None, staff: str | None = None, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.field = field
        self.staff = staff
        self.params = params

    def __repr__(self) -> str:
        return f"BeneError({self.key!r}, field={self.field!r}, staff={self.staff!r}, {self.params!r})"


class ValidationError(BeneError):
    """Input that cannot be accepted as typed."""


class Throttled(BeneError):
    """Too many attempts: the caller must wait `params['seconds']`."""
