"""Live training curves (matplotlib in Qt): loss and accuracy, per epoch and per batch.

The x axis is in epochs across all stages: a batch at `batch/batches` of global epoch `e`
sits at `e - 1 + batch/batches`, an epoch's train/validation point at `e`. Stage starts
are dashed vertical lines.

The per-batch trace: Keras reports, at each batch, the running mean since the epoch began,
which would make the trace a saw that restarts every epoch. Two running means give the
mean of the batches between them (k*m_k - j*m_j) / (k - j), and those are smoothed across
epochs with a debiased exponential average (as TensorBoard does), about the last
1 / (1 - BATCH_SMOOTHING) batches weighing most.

Drawing a whole matplotlib figure takes 100-300 ms (mostly tick labels), far too long for
the GUI thread while a run streams events. So the axes are drawn once, for the run's
planned number of epochs, and kept as a background; updates only restore it and draw the
curves on top ("blitting"), a few milliseconds each, at most ~4 times a second. Loss uses a
log scale so that its range rarely has to grow (which needs a full redraw).
"""
from __future__ import annotations

import math
from typing import Any

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

UPDATE_MS = 250
TRAIN, VAL, BATCH = "#1f77b4", "#d62728", "#9ecae1"
LOSS_RANGE = (0.05, 20.0)
X_MARGIN = 0.15
BATCH_SMOOTHING = 0.9  # per batch
MIN_LOSS = 1e-6  # the log axis cannot show 0 (a float remainder of the un-averaging)


class CurvesWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.figure = Figure(figsize=(8, 3.2), dpi=90)
        self.figure.subplots_adjust(left=0.07, right=0.99, bottom=0.16, top=0.9, wspace=0.16)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.canvas.setMinimumHeight(220)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.ax_loss, self.ax_acc = self.figure.subplots(1, 2)
        self._background = None
        self._boundary_artists: list[Any] = []
        self.draw_count = 0  # full draws and blitted updates, for tests
        self.full_draw_count = 0  # full (slow) draws only
        self.planned_epochs = 1
        self._setup_axes()
        self.canvas.mpl_connect("draw_event", self._on_full_draw)
        self._timer = QTimer(self)
        self._timer.setInterval(UPDATE_MS)
        self._timer.timeout.connect(self._update_if_dirty)
        self._timer.start()
        self.clear()

    def _setup_axes(self) -> None:
        for ax, title in ((self.ax_loss, "Loss (log scale)"), (self.ax_acc, "Accuracy")):
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("epoch", fontsize=9)
            ax.tick_params(labelsize=8)
            ax.grid(True, alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
        self.ax_loss.set_yscale("log")
        self.ax_loss.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
        self.ax_loss.set_ylim(*LOSS_RANGE)
        self.ax_acc.set_ylim(0, 1.02)
        self.ax_acc.set_xlim(0, 1)
        self.ax_loss.set_xlim(0, 1)

        def line(ax, style, color, label, **kw):
            return ax.plot([], [], style, color=color, label=label, animated=True, **kw)[0]

        self._lines = {
            "batch_loss": line(self.ax_loss, "-", BATCH, "train (per batch, smoothed)", lw=0.8),
            "loss": line(self.ax_loss, "o-", TRAIN, "train", ms=4),
            "val_loss": line(self.ax_loss, "s-", VAL, "validation", ms=4),
            "batch_acc": line(self.ax_acc, "-", BATCH, "train (per batch, smoothed)", lw=0.8),
            "accuracy": line(self.ax_acc, "o-", TRAIN, "train", ms=4),
            "val_accuracy": line(self.ax_acc, "s-", VAL, "validation", ms=4),
        }
        self.ax_acc.legend(fontsize=8, loc="lower right")

    # -- data --------------------------------------------------------------------------
    def clear(self) -> None:
        self.batch_x: list[float] = []
        self.batch_loss: list[float] = []
        self.batch_acc: list[float] = []
        self._running: tuple[int, int, tuple[float, float]] | None = None  # epoch, batch, running means
        self._ema = [0.0, 0.0, 0.0]  # loss, accuracy, weight (for the debiasing)
        self.epochs: dict[int, dict[str, float]] = {}
        self.boundaries: list[tuple[float, str]] = []
        self._last_epoch = 0
        self._dirty = True

    def set_plan(self, total_epochs: int) -> None:
        """Size the x axis for a run of `total_epochs` (a full redraw only when it changes)."""
        total = max(1, int(total_epochs))
        if total != self.planned_epochs:
            self.planned_epochs = total
            self._set_limits()

    def add_event(self, event: dict[str, Any]) -> None:
        """Feed one progress event from core.train (other events are ignored)."""
        kind = event.get("event")
        if kind == "start" and event.get("total_epochs"):
            self.set_plan(int(event["total_epochs"]))
        elif kind == "stage":
            # A resumed stage starts at `start_epoch` > 1: its line goes where it began.
            already = max(0, int(event.get("start_epoch") or 1) - 1)
            self._add_boundary(float(max(0, self._last_epoch - already)), str(event.get("stage", "")))
        elif kind == "batch":
            self._add_batch(event)
        elif kind == "epoch":
            self._add_epoch(int(event.get("global_epoch", self._last_epoch + 1)), event.get("metrics") or {})

    def _add_boundary(self, x: float, name: str) -> None:
        if (x, name) in self.boundaries:
            return  # a resumed stage re-announced: keep one line
        self.boundaries = [b for b in self.boundaries if b[0] != x] + [(x, name)]
        self._dirty = True

    def _add_batch(self, event: dict[str, Any]) -> None:
        metrics = event.get("metrics") or {}
        batches = max(1, int(event.get("batches") or 1))
        global_epoch, batch = int(event.get("global_epoch", 1)), int(event.get("batch", 0))
        loss, acc = metrics.get("loss"), metrics.get("accuracy")
        if not (isinstance(loss, (int, float)) and isinstance(acc, (int, float))) or batch < 1:
            return
        count, window = self._since_last(global_epoch, batch, (float(loss), float(acc)))
        decay = BATCH_SMOOTHING ** count
        self._ema = [decay * e + (1 - decay) * w for e, w in zip(self._ema, (*window, 1.0))]
        smooth_loss, smooth_acc, weight = self._ema
        self.batch_x.append(global_epoch - 1 + batch / batches)
        self.batch_loss.append(max(smooth_loss / weight, MIN_LOSS))
        self.batch_acc.append(min(max(smooth_acc / weight, 0.0), 1.0))
        self._dirty = True

    def _since_last(self, global_epoch: int, batch: int, means: tuple[float, float]):
        """(batches, their mean loss and accuracy) since the last batch event of this epoch."""
        last = self._running
        self._running = (global_epoch, batch, means)
        if last is None or last[0] != global_epoch or not 0 < last[1] < batch:
            return batch, means  # the first report of an epoch: its mean so far
        done = last[1]
        return batch - done, tuple((batch * m - done * p) / (batch - done) for m, p in zip(means, last[2]))

    def _add_epoch(self, global_epoch: int, metrics: dict[str, Any]) -> None:
        self.epochs[global_epoch] = {k: float(v) for k, v in metrics.items()
                                     if isinstance(v, (int, float)) and not isinstance(v, bool)}
        self._last_epoch = max(self._last_epoch, global_epoch)
        self._dirty = True

    def load_history(self, rows: list[dict[str, Any]]) -> None:
        """Show the epochs of an earlier (or resumed) run from its history.csv rows."""
        self.clear()
        previous_stage = None
        for i, row in enumerate(rows, start=1):
            global_epoch = int(row.get("global_epoch") or i)
            stage = row.get("stage")
            if stage != previous_stage:
                self._add_boundary(float(global_epoch - 1), str(stage or ""))
                previous_stage = stage
            self._add_epoch(global_epoch, row)

    # -- drawing -----------------------------------------------------------------------
    def _data_extent(self) -> tuple[float, float, float]:
        xs = [*self.epochs, *self.batch_x, *(b[0] + 1 for b in self.boundaries)]
        losses = [v for row in self.epochs.values() for k, v in row.items() if k in ("loss", "val_loss")]
        losses += self.batch_loss
        losses = [v for v in losses if v > 0 and math.isfinite(v)]
        return max(xs, default=1.0), min(losses, default=LOSS_RANGE[0]), max(losses, default=LOSS_RANGE[1])

    def _limits_fit(self) -> bool:
        right, low, high = self._data_extent()
        y0, y1 = self.ax_loss.get_ylim()
        return right <= self.ax_loss.get_xlim()[1] - X_MARGIN and low >= y0 and high <= y1

    def _set_limits(self) -> None:
        right, low, high = self._data_extent()
        self.planned_epochs = max(self.planned_epochs, math.ceil(right))
        for ax in (self.ax_loss, self.ax_acc):
            ax.set_xlim(0, self.planned_epochs + X_MARGIN)  # room for the last epoch's markers
        self.ax_loss.set_ylim(min(LOSS_RANGE[0], low / 2), max(LOSS_RANGE[1], high * 2))
        self._background = None
        self.canvas.draw_idle()  # full redraw; _on_full_draw then captures the background

    def _update_if_dirty(self) -> None:
        if self._dirty and self.isVisible():
            self.redraw()

    def redraw(self) -> None:
        """Put the data into the artists and show them (blitted when the axes still fit)."""
        self._dirty = False
        self._update_artists()
        if self._background is None or not self._limits_fit():
            self._set_limits()
            return
        self.canvas.restore_region(self._background)
        self._draw_animated()
        self.canvas.blit(self.figure.bbox)
        self.draw_count += 1

    def _update_artists(self) -> None:
        xs = sorted(self.epochs)
        for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
            points = [(x, self.epochs[x][key]) for x in xs if key in self.epochs[x]]
            self._lines[key].set_data([p[0] for p in points], [p[1] for p in points])
        self._lines["batch_loss"].set_data(self.batch_x, self.batch_loss)
        self._lines["batch_acc"].set_data(self.batch_x, self.batch_acc)
        for artist in self._boundary_artists:
            artist.remove()
        self._boundary_artists = []
        for x, name in self.boundaries:
            for ax in (self.ax_loss, self.ax_acc):
                self._boundary_artists.append(ax.axvline(x, color="#555555", ls="--", lw=0.8, animated=True))
            self._boundary_artists.append(self.ax_acc.annotate(
                name, (x, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                textcoords="offset points", fontsize=8, color="#555555", animated=True))

    def _draw_animated(self) -> None:
        for artist in (*self._lines.values(), *self._boundary_artists):
            artist.axes.draw_artist(artist)

    def _on_full_draw(self, _event) -> None:
        """After any full draw (first show, resize, new limits): keep the axes, redraw curves."""
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._update_artists()
        self._draw_animated()
        self.draw_count += 1
        self.full_draw_count += 1
