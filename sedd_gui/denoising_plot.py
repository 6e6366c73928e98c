"""Live plot of masked positions versus sampling step, one curve per candidate."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

MAX_LEGEND_ENTRIES = 12


def candidate_color(index: int, count: int) -> pg.QtGui.QColor:
    """Return the colour of candidate ``index`` (0-based) among ``count``, shared by plot and table."""
    return pg.intColor(index, hues=max(count, 8), values=1, maxValue=220, sat=200)


class DenoisingPlot(pg.PlotWidget):
    """Masked positions left per candidate; the x axis spans the run's steps from the start."""

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setObjectName("denoisingPlot")
        self.setLabel("bottom", "step")
        self.setLabel("left", "masked positions")
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setMouseEnabled(x=False, y=False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setTitle("Denoising: masked positions per step", color="#333", size="10pt")
        self._steps = np.zeros(0, dtype=np.int64)
        self._masked = np.zeros((0, 0), dtype=np.int64)
        self._count = 0
        self._curves: list[pg.PlotDataItem] = []
        self._legend = self.addLegend(offset=(-10, 10), labelTextSize="8pt")

    def reset(self, num_candidates: int, total_steps: int) -> None:
        """Clear the plot for a run of ``num_candidates`` candidates and ``total_steps`` steps."""
        self.clear()
        self._legend.clear()
        self._legend.setVisible(num_candidates <= MAX_LEGEND_ENTRIES)
        self._legend.setColumnCount(1 if num_candidates <= 4 else 2)
        self._steps = np.zeros(total_steps, dtype=np.int64)
        self._masked = np.zeros((total_steps, num_candidates), dtype=np.int64)
        self._count = 0
        self._curves = []
        for index in range(num_candidates):
            pen = pg.mkPen(candidate_color(index, num_candidates), width=2)
            self._curves.append(self.plot([], [], pen=pen, name=f"candidate {index + 1}"))
        self.setXRange(0, max(total_steps, 1), padding=0.02)
        self.enableAutoRange(axis="y", enable=True)

    def append(self, steps: list[int], masked: list[list[int]]) -> None:
        """Add steps (1-based step numbers) with the masked positions left per candidate, then redraw."""
        if not steps:
            return
        needed = self._count + len(steps)
        if needed > len(self._steps):  # more steps than announced: grow the buffers
            extra = needed - len(self._steps)
            self._steps = np.concatenate([self._steps, np.zeros(extra, dtype=np.int64)])
            self._masked = np.concatenate([self._masked, np.zeros((extra, self._masked.shape[1]), dtype=np.int64)])
        self._steps[self._count : needed] = steps
        self._masked[self._count : needed] = masked
        self._count = needed
        x = self._steps[: self._count]
        for index, curve in enumerate(self._curves):
            curve.setData(x, self._masked[: self._count, index])

    def show_trajectory(self, trajectory: list[tuple[int, list[int]]], total_steps: int) -> None:
        """Draw a stored run at once: ``trajectory`` contains (step, masked per candidate) pairs."""
        count = len(trajectory[0][1]) if trajectory else 0
        self.reset(count, total_steps)
        self.append([step for step, _ in trajectory], [masked for _, masked in trajectory])

    def curve_data(self, candidate: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the (steps, masked) arrays drawn for candidate ``candidate`` (0-based)."""
        x, y = self._curves[candidate].getData()
        if x is None:
            return np.zeros(0), np.zeros(0)
        return np.asarray(x), np.asarray(y)

    def curve_count(self) -> int:
        return len(self._curves)
