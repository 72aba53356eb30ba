"""A lazily loaded, cached thumbnail grid model for thousands of images.

The view asks `data(DecorationRole)` only for the items it paints. A missing thumbnail is
queued; the loader decodes the most recently asked-for ones first, in small batches on the
worker (QImage is safe off the GUI thread, QPixmap is not), and keeps an LRU cache, so
scrolling 8,000 images never waits on a decode.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator, Sequence

from PySide6.QtCore import (QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, QSize,
                            QSortFilterProxyModel, Qt, QTimer, Signal)
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from gui.worker import GeneratorWorker, TaskSlot

THUMB = 112  # longest side, in device-independent pixels
BATCH = 24
MAX_PENDING = 400
SAMPLE_ROLE = Qt.ItemDataRole.UserRole + 1


def decode_thumbnails(paths: Sequence[str], size: int, *, stop=None) -> Iterator[tuple[str, QImage | None]]:
    """Yield (path, thumbnail QImage or None if undecodable); runs on the worker."""
    from PIL import Image

    from core.images import to_rgb_array

    for path in paths:
        if stop is not None and stop.is_set():
            return
        try:
            with Image.open(path) as img:
                img.draft("RGB", (size * 2, size * 2))  # JPEG: decode at reduced scale
                img.load()
                small = Image.fromarray(to_rgb_array(img))
            small.thumbnail((size, size))
            data = small.tobytes()
            image = QImage(data, small.width, small.height, 3 * small.width, QImage.Format.Format_RGB888).copy()
        except Exception:  # noqa: BLE001 - a broken file gets the "cannot show" tile
            image = None
        yield path, image


def _placeholder(size: int, text: str = "") -> QPixmap:
    pixmap = QPixmap(size, int(size * 0.66))
    pixmap.fill(QColor("#e9edf3"))
    if text:
        painter = QPainter(pixmap)
        painter.setPen(QColor("#7a1f1f"))
        painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
    return pixmap


class ThumbnailLoader(QObject):
    """Queue, decode on the worker, cache (LRU); emits `loaded(path)` for each new thumbnail."""

    loaded = Signal(str)

    def __init__(self, size: int = THUMB, cache_size: int = 3000, parent: QObject | None = None):
        super().__init__(parent)
        self.size = size  # device-independent pixels
        screen = QGuiApplication.primaryScreen()
        self.dpr = screen.devicePixelRatio() if screen is not None else 1.0  # sharp on high-DPI screens
        self.cache_size = cache_size
        self.cache: OrderedDict[str, QPixmap] = OrderedDict()
        self.failed: set[str] = set()
        self._pending: OrderedDict[str, None] = OrderedDict()
        self._in_flight: set[str] = set()
        self._task = TaskSlot()
        self._kick = QTimer(self, singleShot=True, interval=15)  # gather a paint's requests into one batch
        self._kick.timeout.connect(self._start_batch)

    def get(self, path: str) -> QPixmap | None:
        pixmap = self.cache.get(path)
        if pixmap is not None:
            self.cache.move_to_end(path)
            return pixmap
        if path not in self.failed and path not in self._in_flight:
            self._pending[path] = None
            self._pending.move_to_end(path)  # most recently asked for = decoded first
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)  # scrolled past long ago; asked again if seen again
            if not self._task.busy:
                self._kick.start()
        return None

    def clear(self) -> None:
        self._task.cancel()
        self._pending.clear()
        self._in_flight.clear()
        self.cache.clear()
        self.failed.clear()

    @property
    def busy(self) -> bool:
        return self._task.busy or bool(self._pending)

    def _start_batch(self) -> None:
        if self._task.busy or not self._pending:
            return
        batch = []
        while self._pending and len(batch) < BATCH:
            batch.append(self._pending.popitem(last=True)[0])
        self._in_flight = set(batch)
        worker = GeneratorWorker(decode_thumbnails, batch, round(self.size * self.dpr),
                                 needs_tensorflow=False)
        worker.signals.item.connect(self._on_item)
        for signal in (worker.signals.finished, worker.signals.cancelled, worker.signals.failed):
            signal.connect(self._on_batch_done)
        self._task.start(worker)

    def _on_item(self, item: tuple[str, QImage | None]) -> None:
        path, image = item
        self._in_flight.discard(path)
        if image is None:
            self.failed.add(path)
        else:
            pixmap = QPixmap.fromImage(image)
            pixmap.setDevicePixelRatio(self.dpr)
            self.cache[path] = pixmap
            while len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
        self.loaded.emit(path)

    def _on_batch_done(self, _result: Any) -> None:
        self._in_flight.clear()
        if self._pending:
            self._kick.start(0)


class ThumbnailModel(QAbstractListModel):
    """One row per sample; the decoration is its thumbnail, loaded when first painted."""

    def __init__(self, loader: ThumbnailLoader | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.loader = loader or ThumbnailLoader(parent=self)
        self.loader.loaded.connect(self._on_loaded)
        self.root = Path(".")
        self.samples: list[Any] = []
        self._paths: list[str] = []
        self._rows: dict[str, int] = {}
        self._waiting = _placeholder(self.loader.size)
        self._broken = _placeholder(self.loader.size, "cannot show")

    def set_samples(self, root: str | Path, samples: Sequence[Any]) -> None:
        self.beginResetModel()
        self.loader.clear()
        self.root = Path(root)
        self.samples = list(samples)
        prefix = str(self.root) + os.sep  # plain string joins: Path() per row is slow for 8,000 rows
        self._paths = [prefix + s.path for s in self.samples]
        self._rows = {path: i for i, path in enumerate(self._paths)}
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.samples)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        sample = self.samples[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            path = self._paths[index.row()]
            pixmap = self.loader.get(path)
            if pixmap is not None:
                return pixmap
            return self._broken if path in self.loader.failed else self._waiting
        if role == Qt.ItemDataRole.DisplayRole:  # two short lines: class, then magnification and patient
            detail = " · ".join(x for x in (sample.magnification, sample.patient) if x)
            return f"{sample.label.replace('_', ' ')}\n{detail}" if detail else sample.label.replace("_", " ")
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{sample.path}\nclass: {sample.label}\npatient: {sample.patient or 'unknown'}\n"
                    f"magnification: {sample.magnification or 'unknown'}")
        if role == SAMPLE_ROLE:
            return sample
        return None

    def _on_loaded(self, path: str) -> None:
        row = self._rows.get(path)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def grid_size(self) -> QSize:
        return QSize(self.loader.size + 24, int(self.loader.size * 0.66) + 44)


class ThumbnailDelegate(QStyledItemDelegate):
    """Thumbnail on top, then two elided caption lines (class; magnification and patient)."""

    def __init__(self, cell: QSize, parent: QObject | None = None):
        super().__init__(parent)
        self.cell = cell

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:  # noqa: N802 - Qt API
        return self.cell

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        painter.save()
        rect = option.rect.adjusted(2, 2, -2, -2)
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, option.palette.highlight())
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            size = pixmap.deviceIndependentSize().toSize()
            painter.drawPixmap(rect.left() + (rect.width() - size.width()) // 2, rect.top() + 2, pixmap)
        metrics = option.fontMetrics
        lines = str(index.data(Qt.ItemDataRole.DisplayRole) or "").split("\n")[:2]
        y = rect.bottom() - 2 * metrics.height()
        painter.setPen(option.palette.text().color())
        for line in lines:
            text = metrics.elidedText(line, Qt.TextElideMode.ElideRight, rect.width() - 4)
            painter.drawText(rect.left() + 2, y, rect.width() - 4, metrics.height(), Qt.AlignmentFlag.AlignHCenter, text)
            y += metrics.height()
        painter.restore()


class SampleFilter(QSortFilterProxyModel):
    """Keeps the samples that match the chosen class, patient and magnification (None = any)."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.criteria: dict[str, str | None] = {"label": None, "patient": None, "magnification": None}

    def set_criterion(self, key: str, value: str | None) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9: the non-deprecated way
            self.beginFilterChange()
            self.criteria[key] = value or None
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.criteria[key] = value or None
            self.invalidateFilter()

    def clear_criteria(self) -> None:
        """Forget all criteria without re-filtering (call before the source model resets)."""
        self.criteria = dict.fromkeys(self.criteria)

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        if not any(self.criteria.values()):
            return True
        sample = self.sourceModel().samples[row]
        return all(value is None or getattr(sample, key) == value for key, value in self.criteria.items())
