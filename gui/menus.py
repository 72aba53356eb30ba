"""The window's menus and shortcuts: File (open dataset, manifest, model, recent, quit),
View (one shortcut per view) and Help (in-app help, about)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox

RECENT_KINDS = (("folder", "Recent dataset folders"), ("manifest", "Recent manifests"), ("model", "Recent models"))
MANIFEST_FILTER = "HistoClass manifests (*.json);;All files (*)"
MODEL_FILTER = "HistoClass models (*.hcmodel);;All files (*)"


@dataclass
class Menus:
    actions: dict[str, QAction] = field(default_factory=dict)
    recent: dict[str, QMenu] = field(default_factory=dict)


def install_menus(window: QMainWindow) -> Menus:
    menus = Menus()
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    _add(menus, file_menu, "open_folder", "Open &dataset folder…", QKeySequence.StandardKey.Open,
         lambda: open_dataset_folder(window))
    _add(menus, file_menu, "open_manifest", "Open &manifest…", "Ctrl+Shift+O", lambda: open_manifest(window))
    _add(menus, file_menu, "open_model", "Open mode&l…", "Ctrl+L", lambda: open_model(window))
    file_menu.addSeparator()
    for kind, title in RECENT_KINDS:
        menu = file_menu.addMenu(title)
        menu.aboutToShow.connect(lambda kind=kind, menu=menu: _fill_recent(window, menu, kind))
        menus.recent[kind] = menu
    file_menu.addSeparator()
    _add(menus, file_menu, "quit", "&Quit", QKeySequence.StandardKey.Quit, window.close)

    view_menu = bar.addMenu("&View")
    for index, name in enumerate(window.view_names(), start=1):
        title = window.sidebar.item(index - 1).text()
        _add(menus, view_menu, f"view_{name}", f"&{title}", f"Ctrl+{index}",
             lambda _checked=False, name=name: window.show_view(name))

    help_menu = bar.addMenu("&Help")
    _add(menus, help_menu, "help", "&Using HistoClass", QKeySequence.StandardKey.HelpContents,
         lambda: _about().show_help(window))
    _add(menus, help_menu, "about", "&About HistoClass", None, lambda: _about().show_about(window))
    return menus


def _about():
    from gui import about

    return about


def _add(menus: Menus, menu: QMenu, key: str, text: str, shortcut, slot) -> QAction:
    action = menu.addAction(text)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(slot)
    menus.actions[key] = action
    return action


def _fill_recent(window, menu: QMenu, kind: str) -> None:
    menu.clear()
    items = window.state.recent(kind)
    for path in items:
        action = menu.addAction(Path(path).name or path)
        action.setToolTip(path)
        action.setStatusTip(path)
        action.triggered.connect(lambda _=False, path=path: open_recent(window, kind, path))
    if not items:
        menu.addAction("(none yet)").setEnabled(False)
        return
    menu.addSeparator()
    menu.addAction("Clear this list").triggered.connect(lambda: window.state.clear_recent(kind))


def open_recent(window, kind: str, path: str) -> None:
    if not Path(path).exists():
        QMessageBox.warning(window, "Not found", f"{path}\nno longer exists; it was removed from the list.")
        window.state.remove_recent(kind, path)
        return
    if kind == "folder":
        window.show_view("dataset").open_folder(path)
    elif kind == "manifest":
        use_manifest(window, path)
    else:
        use_model(window, path)


def open_dataset_folder(window) -> None:
    window.show_view("dataset").choose_folder()


def open_manifest(window) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Open manifest", window.state.last_dir("manifest"),
                                          MANIFEST_FILTER)
    if path:
        use_manifest(window, path)


def use_manifest(window, path: str) -> None:
    """Make `path` the workspace's manifest if it reads as one; say why not otherwise."""
    from core.errors import HistoClassError
    from core.manifest import load_manifest

    try:
        load_manifest(path, check_files=False)
    except (HistoClassError, OSError, ValueError) as exc:
        QMessageBox.warning(window, "Cannot open manifest", str(exc))
        return
    window.state.set_last_dir("manifest", path)
    window.state.set_manifest_path(path)
    window.show_view("dataset")
    window.statusBar().showMessage(f"Manifest {Path(path).name} is now the workspace's manifest.", 8000)


def open_model(window) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Open model", window.state.last_dir("model"), MODEL_FILTER)
    if path:
        use_model(window, path)


def use_model(window, path: str) -> None:
    """Make `path` the workspace's model; the viewer (built first) loads it when it is ready."""
    window.state.set_last_dir("model", path)
    if "viewer" in window.view_names():
        window.show_view("viewer")
    window.state.set_model_path(path)
    window.statusBar().showMessage(f"Model {Path(path).name} is now the workspace's model.", 8000)
