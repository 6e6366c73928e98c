"""A dismissable message bar at the top of the window, for errors and warnings that need no dialog."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

STYLES = {
    "error": "background: #fde2e2; color: #7a0010; border: 1px solid #e8a0a8;",
    "warning": "background: #fff3cd; color: #5c4400; border: 1px solid #e6cf86;",
    "info": "background: #e3f0ff; color: #0b3a70; border: 1px solid #a9c8ee;",
}


class MessageBanner(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setStyleSheet("border: none; background: transparent;")
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide this message")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.level = ""
        self.hide()

    def show_message(self, text: str, level: str = "error") -> None:
        """Show ``text``; level is 'error', 'warning' or 'info'."""
        self.level = level
        self.setStyleSheet(f"#messageBanner {{ {STYLES[level]} border-radius: 3px; }}")
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return self.label.text() if not self.isHidden() else ""
