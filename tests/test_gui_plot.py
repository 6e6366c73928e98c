"""Painting pyqtgraph plots: some Qt binding and pyqtgraph versions crash in axis drawing.

PySide6 6.12.0 with pyqtgraph 0.14.0 aborts the interpreter inside AxisItem painting
as soon as a PlotWidget with data is drawn. These tests paint real plots, so that such
a combination fails here instead of in a user's session.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage

import pyqtgraph as pg
from sedd_gui.denoising_plot import DenoisingPlot, candidate_color


def count_pixels(image: QImage, predicate, step: int = 2) -> int:
    count = 0
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            if predicate(QColor(image.pixel(x, y))):
                count += 1
    return count


def close_to(color: QColor, target: QColor, tolerance: int = 40) -> bool:
    return (abs(color.red() - target.red()) + abs(color.green() - target.green())
            + abs(color.blue() - target.blue())) <= tolerance


def test_plot_widget_paints_data(qtbot):
    widget = pg.PlotWidget(background="w")
    qtbot.addWidget(widget)
    curve = widget.plot(pen=pg.mkPen("#ff0000", width=3))
    curve.setData(np.arange(50), np.sin(np.arange(50) / 5.0))
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)

    image = widget.grab().toImage()
    assert image.width() == 400
    red = count_pixels(image, lambda c: c.red() > 200 and c.green() < 80 and c.blue() < 80)
    assert red > 20


def test_denoising_plot_paints_every_curve(qtbot):
    plot = DenoisingPlot()
    qtbot.addWidget(plot)
    plot.resize(500, 350)
    plot.show()
    qtbot.waitExposed(plot)

    plot.reset(3, 10)
    plot.append([1, 2, 3], [[9, 5, 7], [6, 5, 4], [3, 2, 1]])
    plot.append(list(range(4, 11)), [[2, 2, 1]] * 6 + [[0, 0, 0]])
    image = plot.grab().toImage()
    for index in range(3):
        color = QColor(candidate_color(index, 3))
        assert count_pixels(image, lambda c: close_to(c, color), step=1) > 10, f"curve {index} not drawn"
    steps, masked = plot.curve_data(0)
    assert list(steps) == list(range(1, 11))
    assert list(masked) == [9, 6, 3, 2, 2, 2, 2, 2, 2, 0]


def test_denoising_plot_grows_past_announced_steps(qtbot):
    plot = DenoisingPlot()
    qtbot.addWidget(plot)
    plot.reset(1, 2)
    plot.append([1, 2, 3], [[2], [1], [0]])
    assert list(plot.curve_data(0)[0]) == [1, 2, 3]
