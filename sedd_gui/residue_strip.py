"""A strip of residue cells: one coloured cell per position, wrapped into rows, with position numbers.

The prompt editor uses an editable strip, where clicking or dragging over cells
requests that they be masked or unmasked. The result view uses a read-only strip that
shows a candidate filling in; it reports hovered and clicked cells and can outline one
marked cell. The strip only displays cells and reports requests: the owner edits the
prompt text and sets new cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from .residue_colors import MASKED_COLOR, residue_color

CELL_WIDTH = 17
CELL_HEIGHT = 21
NUMBER_HEIGHT = 13
ROW_GAP = 5
MARGIN = 4
VARIABLE_SPAN_UNITS = 3  # a variable-length span is drawn as one cell this many cells wide
NUMBER_EVERY = 10
MARKED_OUTLINE_COLOR = "#000000"  # black contrasts with every Zappo colour and the masked grey


@dataclass(frozen=True)
class StripCell:
    """Content of one cell.

    ``label`` is a residue letter, '_' for a masked position, or a longer text for a
    restricted position or a variable span. ``position`` is the 0-based residue index,
    or None where it is not fixed. ``filled`` marks a residue that the model filled in,
    drawn underlined.
    """

    label: str
    masked: bool
    position: int | None
    toggleable: bool = True
    filled: bool = False
    units: int = 1
    tooltip: str = ""


class ResidueStrip(QWidget):
    """Cells in rows whose length is a multiple of ten, so that position numbers line up.

    ``cellHovered`` sends the cell index under the mouse each time it changes, and -1
    when the mouse leaves the cells. ``cellClicked`` sends a left-clicked cell index, in
    read-only strips only, because an editable strip uses clicks to request masking.
    """

    maskRequested = Signal(list, bool)  # cell indices, True to mask
    cellHovered = Signal(int)
    cellClicked = Signal(int)

    def __init__(self, editable: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self._cells: list[StripCell] = []
        self._editable = editable
        self._drag_anchor: int | None = None
        self._drag_current: int | None = None
        self._drag_target = True
        self._rects: list[QRect] = []
        self._rect_width = -1
        self._placeholder = ""
        self._hovered = -1
        self._marked = -1
        self.setMouseTracking(True)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    # Content ------------------------------------------------------------------

    def set_cells(self, cells: list[StripCell]) -> None:
        same_layout = [cell.units for cell in cells] == [cell.units for cell in self._cells]
        self._cells = list(cells)
        self._drag_anchor = self._drag_current = None
        if self._marked >= len(self._cells):
            self._marked = -1
        if self._hovered >= len(self._cells):
            self._hovered = -1
        if not same_layout:  # live updates change letters only, so they skip the relayout
            self._rect_width = -1
            self.setMinimumHeight(self.heightForWidth(self.width()))
            self.updateGeometry()
        self.update()

    def cells(self) -> list[StripCell]:
        return list(self._cells)

    def set_marked_cell(self, index: int) -> None:
        """Outline cell ``index``. An index of -1, or one outside the cells, removes the outline."""
        self._marked = index if 0 <= index < len(self._cells) else -1
        self.update()

    def marked_cell(self) -> int:
        """Return the outlined cell index, or -1 when no cell is outlined."""
        return self._marked

    def cell_for_position(self, position: int) -> int:
        """Return the index of the cell showing residue ``position`` (0-based), or -1 when no cell does."""
        for index, cell in enumerate(self._cells):
            if cell.position == position:
                return index
        return -1

    def set_placeholder(self, text: str) -> None:
        """Set the text shown while the strip has no cells."""
        self._placeholder = text
        self.update()

    def cell_rect(self, index: int) -> QRect:
        """Return the rectangle of cell ``index`` in widget coordinates."""
        return self._layout(self.width())[index]

    def cell_at(self, point: QPoint) -> int | None:
        for index, rect in enumerate(self._layout(self.width())):
            if rect.contains(point):
                return index
        return None

    # Geometry -----------------------------------------------------------------

    def _units_per_row(self, width: int) -> int:
        units = max(1, (width - 2 * MARGIN) // CELL_WIDTH)
        return max(NUMBER_EVERY, units // NUMBER_EVERY * NUMBER_EVERY)

    def _layout(self, width: int) -> list[QRect]:
        if width == self._rect_width:
            return self._rects
        per_row = self._units_per_row(width)
        rects = []
        row = column = 0
        for cell in self._cells:
            units = min(cell.units, per_row)
            if column + units > per_row:
                row, column = row + 1, 0
            top = MARGIN + row * (NUMBER_HEIGHT + CELL_HEIGHT + ROW_GAP) + NUMBER_HEIGHT
            rects.append(QRect(MARGIN + column * CELL_WIDTH, top, units * CELL_WIDTH, CELL_HEIGHT))
            column += units
        self._rects, self._rect_width = rects, width
        return rects

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        rects = self._layout(width)
        if not rects:
            return 2 * MARGIN + NUMBER_HEIGHT + CELL_HEIGHT
        return rects[-1].bottom() + 1 + MARGIN

    def sizeHint(self) -> QSize:
        width = max(self.width(), 400)
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        return QSize(NUMBER_EVERY * CELL_WIDTH + 2 * MARGIN, 2 * MARGIN + NUMBER_HEIGHT + CELL_HEIGHT)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        needed = self.heightForWidth(event.size().width())
        if needed != self.minimumHeight():
            self.setMinimumHeight(needed)

    # Painting -----------------------------------------------------------------

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        if not self._cells:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect().adjusted(MARGIN, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, self._placeholder)
            return

        letter_font = QFont(self.font())
        letter_font.setFamily("DejaVu Sans Mono")
        letter_font.setStyleHint(QFont.StyleHint.Monospace)
        letter_font.setBold(True)
        small_font = QFont(self.font())
        small_font.setPointSizeF(max(6.0, self.font().pointSizeF() * 0.75))
        preview = self._drag_range()

        for index, (cell, rect) in enumerate(zip(self._cells, self._layout(self.width()))):
            color = QColor(MASKED_COLOR if cell.masked else residue_color(cell.label))
            painter.fillRect(rect.adjusted(0, 0, -1, 0), color)
            painter.setPen(QColor("#000000") if not cell.masked else QColor("#555555"))
            text = cell.label if len(cell.label) == 1 or cell.units > 1 else "*"
            painter.setFont(letter_font if len(cell.label) == 1 else small_font)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
            if cell.filled:
                painter.setPen(QPen(QColor("#1a237e"), 2))
                painter.drawLine(rect.left() + 1, rect.bottom(), rect.right() - 1, rect.bottom())
            if preview is not None and index in preview and cell.toggleable:
                painter.fillRect(rect, QColor(0, 0, 0, 70))
            if index == self._marked:
                painter.setPen(QPen(QColor(MARKED_OUTLINE_COLOR), 2))
                painter.drawRect(rect.adjusted(1, 1, -2, -1))

            if cell.position is not None and self._shows_number(index, cell.position):
                painter.setFont(small_font)
                painter.setPen(self.palette().text().color())
                label_rect = QRect(rect.left() - CELL_WIDTH, rect.top() - NUMBER_HEIGHT, 3 * CELL_WIDTH, NUMBER_HEIGHT)
                painter.drawText(label_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                                 str(cell.position + 1))

    def _shows_number(self, index: int, position: int) -> bool:
        number = position + 1
        if number == 1 or number % NUMBER_EVERY == 0:
            return True
        return index == len(self._cells) - 1 and number % NUMBER_EVERY > 2

    # Mouse --------------------------------------------------------------------

    def _drag_range(self) -> range | None:
        if self._drag_anchor is None or self._drag_current is None:
            return None
        low, high = sorted((self._drag_anchor, self._drag_current))
        return range(low, high + 1)

    def _set_hovered(self, index: int) -> None:
        if index != self._hovered:
            self._hovered = index
            self.cellHovered.emit(index)

    def mousePressEvent(self, event) -> None:
        index = self.cell_at(event.position().toPoint())
        if not self._editable and event.button() == Qt.MouseButton.LeftButton and index is not None:
            self.cellClicked.emit(index)
            return
        if not self._editable or event.button() != Qt.MouseButton.LeftButton or index is None:
            super().mousePressEvent(event)
            return
        if not self._cells[index].toggleable:
            QToolTip.showText(event.globalPosition().toPoint(), self._cells[index].tooltip, self)
            return
        self._drag_anchor = self._drag_current = index
        self._drag_target = not self._cells[index].masked
        self.update()

    def mouseMoveEvent(self, event) -> None:
        hovered = self.cell_at(event.position().toPoint())
        self._set_hovered(-1 if hovered is None else hovered)
        if self._drag_anchor is None:
            super().mouseMoveEvent(event)
            return
        index = self._nearest_cell(event.position().toPoint())
        if index is not None and index != self._drag_current:
            self._drag_current = index
            self.update()

    def mouseReleaseEvent(self, event) -> None:
        drag = self._drag_range()
        if drag is None:
            super().mouseReleaseEvent(event)
            return
        index = self._nearest_cell(event.position().toPoint())
        if index is not None:
            self._drag_current = index
            drag = self._drag_range()
        self._drag_anchor = self._drag_current = None
        self.update()
        indices = [i for i in drag if self._cells[i].toggleable and self._cells[i].masked != self._drag_target]
        if indices:
            self.maskRequested.emit(indices, self._drag_target)

    def _nearest_cell(self, point: QPoint) -> int | None:
        """Return the cell under ``point``, or the closest one in its row while dragging between rows."""
        rects = self._layout(self.width())
        if not rects:
            return None
        exact = self.cell_at(point)
        if exact is not None:
            return exact
        best, best_distance = None, None
        for index, rect in enumerate(rects):
            dy = 0 if rect.top() - NUMBER_HEIGHT <= point.y() <= rect.bottom() + ROW_GAP else abs(rect.center().y() - point.y())
            dx = abs(rect.center().x() - point.x())
            distance = (dy, dx)
            if best_distance is None or distance < best_distance:
                best, best_distance = index, distance
        return best

    def leaveEvent(self, event) -> None:
        self._set_hovered(-1)
        super().leaveEvent(event)

    def event(self, event) -> bool:
        if event.type() == event.Type.ToolTip:
            index = self.cell_at(event.pos())
            if index is not None and self._cells[index].tooltip:
                QToolTip.showText(event.globalPos(), self._cells[index].tooltip, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)


def sequence_cells(sequence: str, filled: set[int] | frozenset = frozenset()) -> list[StripCell]:
    """Return read-only cells for a candidate sequence; '_' marks positions still masked."""
    cells = []
    for position, letter in enumerate(sequence):
        masked = letter == "_"
        if masked:
            tooltip = f"position {position + 1}: still masked"
        elif position in filled:
            tooltip = f"position {position + 1}: {letter}, filled in by the model"
        else:
            tooltip = f"position {position + 1}: {letter}, from the prompt"
        cells.append(StripCell(letter, masked, position, toggleable=False, filled=position in filled and not masked,
                               tooltip=tooltip))
    return cells
