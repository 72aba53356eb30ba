"""A manifest whose image folder was moved: both views say so and "Locate…" fixes it.

The wrong folder is refused and changes nothing; the right one rewrites the manifest
(same hash) and both the wizard's Data page and the Dataset view show it again.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from core.manifest import load_manifest, save_manifest
from core.scan import scan
from core.split import SplitOptions, make_split
from gui.dataset.dataset_view import DatasetView
from gui.training.data_page import DataPage


@pytest.fixture
def moved(tmp_path):
    """A split dataset whose folder was then renamed: (manifest path, old root, new root)."""
    root = tmp_path / "slides"
    rng = np.random.default_rng(0)
    for p in range(8):
        label = ("benign", "malignant")[p % 2]
        folder = root / label / f"P{p}"
        folder.mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    manifest = make_split(scan(root, layout="pattern", pattern=r"(?P<label>[^/]+)/(?P<patient>[^/]+)/.+"),
                          SplitOptions(val=0.25, test=0.25, seed=1))
    path = tmp_path / "manifest.json"
    save_manifest(manifest, path)
    new_root = root.rename(tmp_path / "slides-on-the-new-disk")
    return path, root, new_root, manifest.hash


def test_locate_from_the_wizard_and_the_dataset_view_follows(qtbot, app_state, moved, monkeypatch, tmp_path):
    path, old_root, new_root, digest = moved
    page, dataset = DataPage(app_state), DatasetView(app_state)
    for widget in (page, dataset):
        qtbot.addWidget(widget)
        widget.show()

    dataset.open_manifest(str(path))  # shown from the file, images not needed
    qtbot.waitUntil(lambda: not dataset.locate.isHidden(), timeout=10000)
    assert str(old_root) in dataset.locate.message.text() and not dataset.scan_button.isEnabled()

    page.load(str(path))
    qtbot.waitUntil(lambda: not page.locate.isHidden(), timeout=10000)
    assert page.manifest is None and page.warning.isHidden()
    assert "not in" in page.locate.message.text() and str(old_root) in page.locate.message.text()
    assert "--data-root" not in page.locate.message.text()  # the command line's hint is not for the app

    before = path.read_text()
    wrong = tmp_path / "empty"
    wrong.mkdir()
    monkeypatch.setattr("gui.locate_banner.QFileDialog.getExistingDirectory", lambda *a, **k: str(wrong))
    page.locate.button.click()
    qtbot.waitUntil(lambda: page.locate.button.isEnabled(), timeout=10000)
    assert page.locate.message.text().startswith("Not that folder") and "16 of 16 images" in page.locate.message.text()
    assert path.read_text() == before and page.manifest is None

    monkeypatch.setattr("gui.locate_banner.QFileDialog.getExistingDirectory", lambda *a, **k: str(new_root))
    with qtbot.waitSignal(page.manifest_loaded, timeout=10000):
        page.locate.button.click()
    assert page.locate.isHidden() and page.manifest.root == str(new_root) and page.table.rowCount() == 3
    assert json.loads(path.read_text())["root"] == str(new_root)
    assert load_manifest(path).hash == digest  # the same dataset: its runs still resume

    qtbot.waitUntil(lambda: dataset.locate.isHidden(), timeout=10000)  # the other view followed
    assert str(new_root) in dataset.folder_label.text() and dataset.scan_button.isEnabled()
    dataset.shutdown()
