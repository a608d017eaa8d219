"""Where 「紐づけ設定する」 and the step-2 link lead. Linking itself arrives with the linking flow."""

from __future__ import annotations

from textual.app import ComposeResult

from ..widgets.button import Button
from .registration import FlowScreen
from ..widgets.jtext import JText


def link_screen(flow_id: str, login_id: str = ""):
    """`login_id`: the one just typed at step 2 or 3, so the linking login starts with it."""
    try:
        from .linking import LinkLoginScreen
    except ImportError:
        return LinkingPendingScreen(flow_id)
    return LinkLoginScreen(flow_id, login_id)


class LinkingPendingScreen(FlowScreen):
    STEP = 3

    def __init__(self, flow_id: str) -> None:
        super().__init__()
        self.flow_id = flow_id

    def form(self) -> ComposeResult:
        yield JText(self.t("reg.link_pending"), classes="lead")
        yield Button(self.t("reg.back"), id="back")

    def on_button_pressed(self) -> None:
        self.app.pop_screen()
