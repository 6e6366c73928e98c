"""Sortable table of candidates, with the infilled residues of each sequence highlighted."""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRect, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QStyledItemDelegate, QTableView

from .candidates import CandidateRow
from .residue_colors import MASKED_COLOR, residue_color

COLUMNS = ("#", "Rank", "Sequence", "Length", "Score", "Identity %", "Recovery %", "pLDDT", "pTM")
(COLUMN_INDEX, COLUMN_RANK, COLUMN_SEQUENCE, COLUMN_LENGTH, COLUMN_SCORE, COLUMN_IDENTITY, COLUMN_RECOVERY,
 COLUMN_PLDDT, COLUMN_PTM) = range(len(COLUMNS))

HEADER_TIPS = {
    COLUMN_INDEX: "Candidate number; the same seed gives the same candidate",
    COLUMN_RANK: "Rank by score, 1 is best; cancelled candidates with masked residues are not ranked",
    COLUMN_SEQUENCE: "Residues filled in by the model are bold on their Zappo colour; '_' is still masked",
    COLUMN_LENGTH: "Number of residues",
    COLUMN_SCORE: "Mean model log-probability per filled residue (nats); higher is more typical of the training family",
    COLUMN_IDENTITY: "Percent of the candidate's residues identical to the prompt's fixed residues",
    COLUMN_RECOVERY: "Percent of filled residues equal to the residue they replaced, where that residue is known",
    COLUMN_PLDDT: "Mean predicted LDDT of the folded structure (0-100)",
    COLUMN_PTM: "Predicted TM-score of the folded structure (0-1), where the folding backend gives one",
}

FILLED_CONTEXT = 4  # fixed residues shown before the first filled one when a sequence is cut
SORT_ROLE = Qt.ItemDataRole.UserRole
INDEX_ROLE = Qt.ItemDataRole.UserRole + 1


class CandidateTableModel(QAbstractTableModel):
    """Rows of CandidateRow; SORT_ROLE gives numbers for sorting, INDEX_ROLE the candidate number."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[CandidateRow] = []

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(section)
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == INDEX_ROLE:
            return row.index
        if role == SORT_ROLE:
            return _sort_value(row, column)
        if role == Qt.ItemDataRole.DisplayRole:
            return _display_text(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column != COLUMN_SEQUENCE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == COLUMN_SEQUENCE:
            state = "complete" if row.complete else "still has masked residues"
            lines = [f"candidate {row.index}: {row.length} residues, {state}",
                     f"filled by the model: {format_ranges(row.filled) or 'none'}"]
            lines += [row.sequence[i : i + 60] for i in range(0, row.length, 60)]
            return "\n".join(lines)
        return None

    # Content ------------------------------------------------------------------

    def rows(self) -> list[CandidateRow]:
        return list(self._rows)

    def set_rows(self, rows: list[CandidateRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_for_candidate(self, candidate: int) -> CandidateRow | None:
        for row in self._rows:
            if row.index == candidate:
                return row
        return None

    def update_sequences(self, sequences: list[str], filled: list[frozenset]) -> None:
        """Show the current residues of a running sampler; row i is candidate i + 1."""
        for row, sequence, positions in zip(self._rows, sequences, filled):
            row.sequence = sequence
            row.filled = positions
        if self._rows:
            self.dataChanged.emit(self.index(0, COLUMN_SEQUENCE), self.index(len(self._rows) - 1, COLUMN_LENGTH))

    def set_structure_scores(self, sequence: str, plddt: float | None, ptm: float | None) -> bool:
        """Fill pLDDT and pTM of every row with ``sequence``; return whether any row matched."""
        matched = False
        for number, row in enumerate(self._rows):
            if row.sequence == sequence:
                row.plddt, row.ptm = plddt, ptm
                self.dataChanged.emit(self.index(number, COLUMN_PLDDT), self.index(number, COLUMN_PTM))
                matched = True
        return matched


def format_ranges(positions) -> str:
    """Write 0-based positions as 1-based ranges, e.g. {20, 21, 22, 30} -> '21-23, 31'."""
    ordered = sorted(positions)
    parts = []
    start = previous = None
    for position in ordered + [None]:
        if start is not None and position == previous + 1:
            previous = position
            continue
        if start is not None:
            parts.append(f"{start + 1}" if start == previous else f"{start + 1}-{previous + 1}")
        start = previous = position
    return ", ".join(parts)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _sort_value(row: CandidateRow, column: int):
    values = {
        COLUMN_INDEX: row.index,
        COLUMN_RANK: row.rank,
        COLUMN_SEQUENCE: row.sequence,
        COLUMN_LENGTH: row.length,
        COLUMN_SCORE: _finite(row.score),
        COLUMN_IDENTITY: row.identity,
        COLUMN_RECOVERY: row.recovery,
        COLUMN_PLDDT: _finite(row.plddt),
        COLUMN_PTM: _finite(row.ptm),
    }
    return values[column]


def _display_text(row: CandidateRow, column: int) -> str:
    value = _sort_value(row, column)
    if value is None:
        return ""
    if column == COLUMN_SCORE:
        return f"{value:.3f}"
    if column in (COLUMN_IDENTITY, COLUMN_RECOVERY):
        return f"{value:.1f}"
    if column == COLUMN_PLDDT:
        return f"{value:.1f}"
    if column == COLUMN_PTM:
        return f"{value:.3f}"
    return str(value)


class CandidateSortProxy(QSortFilterProxyModel):
    """Sorts by SORT_ROLE and keeps empty cells (no rank, no structure yet) last in both orders."""

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:
        a = left.data(SORT_ROLE)
        b = right.data(SORT_ROLE)
        descending = self.sortOrder() == Qt.SortOrder.DescendingOrder
        if a is None and b is None:
            return left.data(INDEX_ROLE) < right.data(INDEX_ROLE)
        if a is None:
            return descending
        if b is None:
            return not descending
        return a < b


class SequenceDelegate(QStyledItemDelegate):
    """Paints a sequence in a monospaced font, with filled residues bold on their residue colour."""

    def __init__(self, model: CandidateTableModel, parent=None):
        super().__init__(parent)
        self._model = model
        self._font = QFont("DejaVu Sans Mono")
        self._font.setStyleHint(QFont.StyleHint.Monospace)
        self._bold = QFont(self._font)
        self._bold.setBold(True)

    def paint(self, painter, option, index) -> None:
        self.initStyleOption(option, index)
        option.text = ""
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)

        row = self._model.row_for_candidate(index.data(INDEX_ROLE))
        if row is None:
            return
        painter.save()
        painter.setClipRect(option.rect)
        width = QFontMetrics(self._bold).horizontalAdvance("M")
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        plain = option.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        x = option.rect.left() + 4
        start = self._first_shown(row, max(1, (option.rect.width() - 8) // width))
        if start > 0:
            painter.setFont(self._font)
            painter.setPen(plain)
            painter.drawText(QRect(x, option.rect.top(), width, option.rect.height()), Qt.AlignmentFlag.AlignCenter, "…")
            x += width
            start += 1
        for position in range(start, row.length):
            letter = row.sequence[position]
            cell = QRect(x, option.rect.top() + 2, width, option.rect.height() - 4)
            if letter == "_":
                painter.fillRect(cell, QColor(MASKED_COLOR))
                painter.setFont(self._font)
                painter.setPen(QColor("#555555"))
            elif position in row.filled:
                painter.fillRect(cell, QColor(residue_color(letter)))
                painter.setFont(self._bold)
                painter.setPen(QColor("#000000"))
            else:
                painter.setFont(self._font)
                painter.setPen(plain)
            painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, letter)
            x += width
            if x > option.rect.right():
                break
        painter.restore()

    @staticmethod
    def _first_shown(row: CandidateRow, visible: int) -> int:
        """Return the first position to draw so that the filled residues are in view when the column is too narrow."""
        if row.length <= visible or not row.filled:
            return 0
        return max(0, min(min(row.filled) - FILLED_CONTEXT, row.length - visible))

    def sizeHint(self, option, index):
        size = super().sizeHint(option, index)
        row = self._model.row_for_candidate(index.data(INDEX_ROLE))
        if row is not None:
            size.setWidth(QFontMetrics(self._bold).horizontalAdvance("M") * row.length + 8)
        return size


class CandidateTable(QTableView):
    """The candidate table view; emits the candidate number of the current row."""

    currentCandidateChanged = Signal(int)  # candidate number, 0 when none

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("candidateTable")
        self.source = CandidateTableModel(self)
        self.proxy = CandidateSortProxy(self)
        self.proxy.setSourceModel(self.source)
        self.proxy.setSortRole(SORT_ROLE)
        self.setModel(self.proxy)
        self.setItemDelegateForColumn(COLUMN_SEQUENCE, SequenceDelegate(self.source, self))
        self.setSortingEnabled(True)
        self.sortByColumn(COLUMN_INDEX, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(QFontMetrics(self.font()).height() + 8)
        # Columns are fitted once per new set of rows: ResizeToContents would measure every
        # cell again at each live update, which costs milliseconds of GUI time per update.
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COLUMN_SEQUENCE, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        self.selectionModel().currentRowChanged.connect(self._emit_current)

    def set_rows(self, rows: list[CandidateRow]) -> None:
        current = self.current_candidate()
        self.source.set_rows(rows)
        for column in range(len(COLUMNS)):
            if column != COLUMN_SEQUENCE:
                self.resizeColumnToContents(column)
        if current:
            self.select_candidate(current)

    def rows_in_view_order(self) -> list[CandidateRow]:
        """Return the rows in the order the table shows them."""
        return [self.source.row_for_candidate(self.proxy.index(r, 0).data(INDEX_ROLE))
                for r in range(self.proxy.rowCount())]

    def selected_rows(self) -> list[CandidateRow]:
        """Return the selected rows in view order."""
        numbers = sorted(index.row() for index in self.selectionModel().selectedRows())
        return [self.source.row_for_candidate(self.proxy.index(r, 0).data(INDEX_ROLE)) for r in numbers]

    def current_candidate(self) -> int:
        index = self.currentIndex()
        return index.data(INDEX_ROLE) if index.isValid() else 0

    def select_candidate(self, candidate: int) -> None:
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(INDEX_ROLE) == candidate:
                self.selectRow(r)
                return

    def _emit_current(self, current: QModelIndex, previous: QModelIndex) -> None:
        self.currentCandidateChanged.emit(current.data(INDEX_ROLE) if current.isValid() else 0)
