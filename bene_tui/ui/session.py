"""One person's use of a terminal: what the app keeps between screens, typed.

A kiosk wipe, the demo reset and a rewind replace it with a new one (`Session.new`), so nothing of
the last person survives by being forgotten in a reset list. What belongs to the terminal and not
to a person — the helpdesk agent's name, the guide panel shown or not, the language the terminal
starts in — stays on the app. Plain Python: no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass

from bene_tui.services.outbox import KioskScope

DEFAULT_SERVICE = "benefit_station"


@dataclass
class Session:
    outbox: KioskScope  # what a kiosk session may read of the outbox (its own codes, proven login IDs)
    account_id: int | None = None  # who is logged in (the login screen sets it, logout clears it)
    service_id: str = DEFAULT_SERVICE  # the service chosen on the start screen
    start_link: str | None = None  # a link from a message the app was started on (bene-tui open URL)

    @classmethod
    def new(cls, now: float, start_link: str | None = None) -> "Session":
        return cls(outbox=KioskScope(since=now), start_link=start_link)

    def dirty(self) -> bool:
        """Does it hold anything of a person (the kiosk counts down only then)?"""
        return bool(self.outbox or self.account_id or self.service_id != DEFAULT_SERVICE)
