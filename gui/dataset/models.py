"""Item models for the dataset view: class x magnification counts, skipped files, split preview.

They adapt plain core data (a Catalog's samples, a split summary) for Qt views; they hold
no logic beyond counting. Each cell also answers `Qt.UserRole` with raw numbers for tests
and for sorting.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

Index = QModelIndex | QPersistentModelIndex
RAW = Qt.ItemDataRole.UserRole
NO_MAG = "-"
TOTAL = "All classes"
LOW_PATIENTS = QColor("#fff4d6")


def _mag_key(mag: str) -> tuple[int, float, str]:
    try:
        return (0, float(mag.rstrip("Xx")), mag)
    except ValueError:
        return (1, 0.0, mag)


def cell_text(images: int, patients: int | None) -> str:
    if images == 0:
        return "–"
    return f"{images:,}" if patients is None else f"{images:,}  ({patients})"


class _Table(QAbstractTableModel):
    headers: list[str] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._rows())

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None

    def _rows(self) -> list:
        raise NotImplementedError


class CountsTableModel(_Table):
    """Rows: classes (+ a total row); columns: group, each magnification, all, patients.

    A cell reads "images  (patients)"; patients are left out when the layout has none.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.classes: list[str] = []
        self.mags: list[str] = []
        self._images: dict[tuple[str, str], int] = {}
        self._patients: dict[tuple[str, str], set] = {}
        self._groups: dict[str, str] = {}
        self.has_patients = False

    def set_samples(self, samples: Iterable[Any]) -> None:
        """samples: anything with label, patient, magnification, group (core Sample/ManifestSample)."""
        self.beginResetModel()
        images: dict[tuple[str, str], int] = defaultdict(int)
        patients: dict[tuple[str, str], set] = defaultdict(set)
        self._groups, mags, self.has_patients = {}, set(), True
        for s in samples:
            mag = s.magnification or NO_MAG
            mags.add(mag)
            for key in ((s.label, mag), (s.label, "*"), (TOTAL, mag), (TOTAL, "*")):
                images[key] += 1
                if s.patient is not None:
                    patients[key].add(s.patient)
            self.has_patients &= s.patient is not None
            if s.group:
                self._groups[s.label] = s.group
        self._images, self._patients = dict(images), dict(patients)
        self.classes = sorted({k[0] for k in images if k[0] != TOTAL})
        self.mags = sorted(mags, key=_mag_key)
        show_mags = self.mags if self.mags != [NO_MAG] else []
        self.headers = ["Class", "Group", *show_mags, "All images", "Patients"]
        self.endResetModel()

    def _rows(self) -> list[str]:
        return [*self.classes, TOTAL] if self.classes else []

    def counts(self, label: str, mag: str = "*") -> tuple[int, int | None]:
        """(images, patients) for a class (or TOTAL) at a magnification ("*" = all)."""
        patients = len(self._patients.get((label, mag), ())) if self.has_patients else None
        return self._images.get((label, mag), 0), patients

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        label, header = self._rows()[index.row()], self.headers[index.column()]
        if header in ("Class", "Group"):
            value = label if header == "Class" else self._groups.get(label, "")
            return value if role in (Qt.ItemDataRole.DisplayRole, RAW) else self._style(label, role)
        images, patients = self.counts(label, "*" if header in ("All images", "Patients") else header)
        if header == "Patients":
            images, patients = (patients if patients is not None else 0), None
        if role == RAW:
            return (images, patients)
        if role == Qt.ItemDataRole.DisplayRole:
            return "–" if header == "Patients" and not self.has_patients else cell_text(images, patients)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return self._style(label, role)

    def _style(self, label: str, role: int) -> Any:
        if role == Qt.ItemDataRole.FontRole and label == TOTAL:
            font = QFont()
            font.setBold(True)
            return font
        return None


class SkippedModel(_Table):
    headers = ["File", "Why it was skipped"]

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items: list[tuple[str, str]] = []

    def set_items(self, items: Iterable[Any]) -> None:
        self.beginResetModel()
        self.items = [(s.path, s.reason) for s in items]
        self.endResetModel()

    def _rows(self) -> list:
        return self.items

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, RAW):
            return self.items[index.row()][index.column()]
        return None


class SplitSummaryModel(_Table):
    """Rows: classes (+ total); columns: the splits (train/val/test or folds), "images (patients)"."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.classes: list[str] = []
        self.splits: list[str] = []
        self._cells: dict[tuple[str, str], tuple[int, int | None]] = {}
        self.flagged: set[tuple[str, str]] = set()

    def set_summary(self, classes: list[str], splits: list[str],
                    cells: dict[tuple[str, str], tuple[int, int | None]]) -> None:
        """cells: {(class or TOTAL, split): (images, patients or None)}."""
        self.beginResetModel()
        self.classes, self.splits, self._cells = list(classes), list(splits), dict(cells)
        self.headers = ["Class", *splits]
        # a class with no image (or no patient) in a split cannot be scored there: flag it
        self.flagged = {k for k, (n, p) in self._cells.items() if k[0] != TOTAL and (n == 0 or p == 0)}
        self.endResetModel()

    def _rows(self) -> list[str]:
        return [*self.classes, TOTAL] if self.classes else []

    def cell(self, label: str, split: str) -> tuple[int, int | None]:
        return self._cells.get((label, split), (0, None))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        label = self._rows()[index.row()]
        if index.column() == 0:
            if role == Qt.ItemDataRole.FontRole and label == TOTAL:
                font = QFont()
                font.setBold(True)
                return font
            return label if role in (Qt.ItemDataRole.DisplayRole, RAW) else None
        split = self.splits[index.column() - 1]
        images, patients = self.cell(label, split)
        if role == RAW:
            return (images, patients)
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(images, patients) if images else "0"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole and (label, split) in self.flagged:
            return QBrush(LOW_PATIENTS)
        return None
