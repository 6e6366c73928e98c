"""The History panel: past runs, newest first, with buttons to reopen or delete one."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from .history import RunSummary

COLUMNS = ("Started", "Prompt", "Cand.", "Best score", "Status")
PROMPT_PREVIEW = 40


def local_time(iso_utc: str) -> str:
    """Format an ISO 8601 UTC time as local 'YYYY-MM-DD HH:MM'; unparsable text is returned as is."""
    try:
        return datetime.fromisoformat(iso_utc).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso_utc


class HistoryPanel(QWidget):
    openRequested = Signal(int)
    deleteRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.problem_label = QLabel()
        self.problem_label.setObjectName("historyProblem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("background: #fff3cd; color: #5c4400; padding: 4px;")
        self.problem_label.hide()

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("historyTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.cellDoubleClicked.connect(lambda row, column: self._request(self.openRequested, row))

        self.open_button = QPushButton("Open run")
        self.open_button.setToolTip("Show the selected run's prompt, settings, plot and candidates")
        self.open_button.clicked.connect(lambda: self._request(self.openRequested, self.table.currentRow()))
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(lambda: self._request(self.deleteRequested, self.table.currentRow()))
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def set_problem(self, message: str | None) -> None:
        self.problem_label.setText(message or "")
        self.problem_label.setVisible(bool(message))

    def set_runs(self, runs: list[RunSummary]) -> None:
        self.table.setRowCount(len(runs))
        for row, run in enumerate(runs):
            prompt = run.prompt if len(run.prompt) <= PROMPT_PREVIEW else run.prompt[: PROMPT_PREVIEW - 1] + "…"
            best = "" if run.best_score is None else f"{run.best_score:.3f}"
            values = (local_time(run.started), prompt, str(run.num_candidates), best,
                      "cancelled" if run.cancelled else "finished")
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, run.run_id)
                if column == 1:
                    item.setToolTip(f"{run.prompt}\nmodel: {run.checkpoint_name}")
                self.table.setItem(row, column, item)

    def run_ids(self) -> list[int]:
        return [self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) for row in range(self.table.rowCount())]

    def _request(self, signal, row: int) -> None:
        if 0 <= row < self.table.rowCount():
            signal.emit(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole))
