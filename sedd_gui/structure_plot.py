"""Per-residue pLDDT plot: points coloured by confidence band, infilled spans shaded, a residue cursor."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QColor

from .structure_view import FILLED_COLOR, HIGHLIGHT_COLOR, PLDDT_BANDS, plddt_band_color


def filled_runs(filled: list[int]) -> list[tuple[int, int]]:
    """Group 0-based indices into (first, last) runs of consecutive indices, inclusive."""
    runs: list[tuple[int, int]] = []
    for index in sorted(set(filled)):
        if runs and index == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def _translucent(color: str, alpha: int) -> QColor:
    result = QColor(color)
    result.setAlpha(alpha)
    return result


class ResidueAxis(pg.AxisItem):
    """Axis that labels whole residue numbers only, because a fractional residue number means nothing."""

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        return [(spacing, [value for value in values if float(value).is_integer()]) for spacing, values in levels]


class PlddtPlot(pg.PlotWidget):
    """pLDDT (0-100) against residue number (1-based on the axis, 0-based in the signals).

    ``residueHovered`` follows the mouse (-1 when it leaves the plot); ``residueClicked``
    reports a click on a residue. Without residues the plot shows an empty-state text
    and no residue numbers.
    """

    residueHovered = Signal(int)
    residueClicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent, background="w", axisItems={"bottom": ResidueAxis(orientation="bottom")})
        self.setMinimumHeight(120)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setLabel("left", "pLDDT")
        self.setLabel("bottom", "residue")
        self.setYRange(0, 100, padding=0.02)
        self.getAxis("left").setTicks([[(value, str(value)) for value in (0, 50, 70, 90, 100)]])
        self.showGrid(x=False, y=True, alpha=0.15)

        self._labels: list[str] = []
        self._plddt: list[float] = []
        self._spans: list[pg.LinearRegionItem] = []
        self._hovered = -1

        for lower, color, _ in PLDDT_BANDS:
            upper = min((band[0] for band in PLDDT_BANDS if band[0] > lower), default=100.0)
            band = pg.LinearRegionItem((max(lower, 0.0), upper), orientation="horizontal", movable=False,
                                       brush=_translucent(color, 28), pen=pg.mkPen(None))
            band.setZValue(-20)
            self.addItem(band)

        self._curve = pg.PlotDataItem(pen=pg.mkPen("#606060", width=1.2), symbol="o", symbolSize=6)
        self.addItem(self._curve)
        self._cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(HIGHLIGHT_COLOR, width=2))
        self._cursor.hide()
        self.addItem(self._cursor)
        self._readout = pg.TextItem(color="#202020", anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 220))
        self._readout.hide()
        self.addItem(self._readout)
        self._empty_text = pg.TextItem("No structure shown", color="#707070", anchor=(0.5, 0.5))
        self._empty_text.setPos(1, 50)  # the middle of the empty range set in set_data
        self.addItem(self._empty_text)

        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.clear_data()

    def set_data(self, plddt: list[float], filled: list[int], labels: list[str]) -> None:
        """Show ``plddt`` per residue with ``filled`` (0-based) shaded; ``labels`` name each residue."""
        self._plddt = list(plddt)
        self._labels = list(labels)
        count = len(labels)
        x = list(range(1, len(plddt) + 1))
        brushes = [pg.mkBrush(plddt_band_color(value)) for value in plddt]
        self._curve.setData(x, plddt, symbolBrush=brushes, symbolPen=pg.mkPen("#404040", width=0.5))

        for span in self._spans:
            self.removeItem(span)
        self._spans = []
        for first, last in filled_runs([index for index in filled if 0 <= index < count]):
            span = pg.LinearRegionItem((first + 0.5, last + 1.5), movable=False,
                                       brush=_translucent(FILLED_COLOR, 45), pen=pg.mkPen(None))
            span.setZValue(-10)
            self.addItem(span)
            self._spans.append(span)

        self.setXRange(0.5, max(count, 1) + 0.5, padding=0.01)
        # No ticks at all without residues. With residues, None returns the axis to automatic ticks.
        self.getAxis("bottom").setTicks(None if count else [[]])
        self._empty_text.setVisible(count == 0)
        self.set_cursor(-1)

    def is_empty(self) -> bool:
        """Return whether the plot has no residues to show."""
        return not self._labels

    def clear_data(self) -> None:
        self.set_data([], [], [])

    def set_cursor(self, index: int) -> None:
        """Put the cursor line and readout on residue ``index`` (0-based); -1 hides them."""
        if not 0 <= index < len(self._labels):
            self._cursor.hide()
            self._readout.hide()
            return
        self._cursor.setValue(index + 1)
        self._cursor.show()
        self._readout.setText(self._labels[index])
        value = self._plddt[index] if index < len(self._plddt) else 50.0
        # Above the point, or below it near the top of the axis; left of it near the right end.
        horizontal = 1 if index + 1 > 0.7 * len(self._labels) else 0
        if value > 75:
            self._readout.setAnchor((horizontal, 0))
            self._readout.setPos(index + 1, value - 4)
        else:
            self._readout.setAnchor((horizontal, 1))
            self._readout.setPos(index + 1, value + 4)
        self._readout.show()

    def residue_at(self, scene_position: QPointF) -> int:
        """Return the 0-based residue under a scene position, or -1 outside the data."""
        view_box = self.getPlotItem().getViewBox()
        if not view_box.sceneBoundingRect().contains(scene_position):
            return -1
        x = view_box.mapSceneToView(scene_position).x()
        index = int(round(x)) - 1
        return index if 0 <= index < len(self._labels) else -1

    def _on_mouse_moved(self, position: QPointF) -> None:
        index = self.residue_at(position)
        if index != self._hovered:
            self._hovered = index
            self.residueHovered.emit(index)

    def _on_mouse_clicked(self, event) -> None:
        index = self.residue_at(event.scenePos())
        if index >= 0:
            self.residueClicked.emit(index)

    def leaveEvent(self, event) -> None:
        if self._hovered != -1:
            self._hovered = -1
            self.residueHovered.emit(-1)
        super().leaveEvent(event)
