"""The training wizard: Data, Model, Augmentation, Stages, Run, Results, and past runs.

The pages hold the settings; this view assembles them into a `core.config.TrainConfig`
(the same JSON `histoclass train --config` reads), starts runs in a fresh run folder and
moves between pages. Nothing here imports TensorFlow: the jobs do, on worker threads.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core import RESEARCH_NOTICE
from core.config import MIN_NETWORK_INPUT_SIZE, TrainConfig, config_from_dict, load_config, save_config
from core.errors import ConfigError
from core.runs import RunInfo, new_run_dir
from gui.appearance import set_role
from gui.training.augment_page import AugmentPage
from gui.training.data_page import DataPage
from gui.training.model_page import ModelPage
from gui.training.results_page import ResultsPage
from gui.training.run_page import RunPage
from gui.training.runs_page import RunsPage
from gui.training.stages_page import StagesPage

PAGES = ("1  Data", "2  Model", "3  Augmentation", "4  Stages", "5  Run", "6  Results", "Past runs")
DATA, MODEL, AUGMENT, STAGES, RUN, RESULTS, RUNS = range(len(PAGES))


class TrainingView(QWidget):
    """Signals: `open_images_requested(list)` (absolute image paths for the viewer; an empty list
    just asks to show the viewer, whose model was set through `state.set_model_path`) and
    `status_message(str)` for the main window's status bar."""

    open_images_requested = Signal(list)
    status_message = Signal(str)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.base_config = TrainConfig()
        self.data_page = DataPage(state)
        self.model_page = ModelPage(state)
        self.augment_page = AugmentPage()
        self.stages_page = StagesPage()
        self.run_page = RunPage()
        self.results_page = ResultsPage()
        self.runs_page = RunsPage(state)
        self.nav = QListWidget()
        self.nav.addItems(PAGES)
        self.nav.setFixedWidth(150)
        self.stack = QStackedWidget()
        for page in (self.data_page, self.model_page, self.augment_page, self.stages_page, self.run_page,
                     self.results_page, self.runs_page):
            # Each page scrolls on its own when the window is small, so the buttons and the
            # research-use notice below stay in view.
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(page)
            self.stack.addWidget(scroll)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        set_role(self.problem, "error")
        self.load_button = QPushButton("Load configuration…")
        self.save_button = QPushButton("Save configuration…")
        self.back_button = QPushButton("Back")
        self.next_button = QPushButton("Next")
        self._layout()
        self._connect()
        self.set_config(self.base_config)
        self.go_to(DATA)
        if state.manifest_path:
            self.data_page.load(state.manifest_path)

    def _layout(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(self.load_button)
        bar.addWidget(self.save_button)
        bar.addStretch(1)
        bar.addWidget(self.back_button)
        bar.addWidget(self.next_button)
        notice = QLabel(RESEARCH_NOTICE)
        set_role(notice, "notice")
        right = QVBoxLayout()
        right.addWidget(self.stack, 1)
        right.addWidget(self.problem)
        right.addLayout(bar)
        right.addWidget(notice)
        layout = QHBoxLayout(self)
        layout.addWidget(self.nav)
        layout.addLayout(right, 1)

    def _connect(self) -> None:
        self.nav.currentRowChanged.connect(self._on_nav)
        self.back_button.clicked.connect(lambda: self.go_to(max(DATA, self.stack.currentIndex() - 1)))
        self.next_button.clicked.connect(self._next)
        self.load_button.clicked.connect(self._load_config_dialog)
        self.save_button.clicked.connect(self._save_config_dialog)
        self.data_page.manifest_loaded.connect(self._on_manifest)
        self.stages_page.validity_changed.connect(lambda ok: self._update_buttons())
        self.model_page.random_init_changed.connect(self.stages_page.set_random_init)
        self.stages_page.set_random_init(self.model_page.random_init)
        self.run_page.start_button.clicked.connect(self.start_training)
        self.run_page.run_finished.connect(self._on_run_finished)
        self.run_page.run_cancelled.connect(lambda _r: self._on_run_stopped("Training cancelled; checkpoint kept."))
        self.run_page.run_failed.connect(lambda msg: self._on_run_stopped(f"Training failed: {msg}"))
        self.results_page.open_model_requested.connect(self._open_model)
        self.results_page.open_images_requested.connect(self._open_images)
        self.runs_page.reopen_requested.connect(self.reopen_run)
        self.runs_page.start_from_requested.connect(self.start_from_run)

    # -- navigation --------------------------------------------------------------------
    def go_to(self, index: int) -> None:
        self.nav.setCurrentRow(index)

    def _on_nav(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        if index == RUNS:
            self.runs_page.refresh()  # reads every run folder: only when the list is looked at
        self._update_buttons()

    def _next(self) -> None:
        index = self.stack.currentIndex()
        if index == STAGES:
            self.go_to(RUN)
        elif index < RESULTS:
            self.go_to(index + 1)

    def _update_buttons(self) -> None:
        index = self.stack.currentIndex()
        self.back_button.setEnabled(DATA < index <= RESULTS)
        self.next_button.setEnabled(index < RUN)
        problem = self.config_problem()
        self._show_problem(problem)
        busy = self.run_page.busy
        self.run_page.start_button.setEnabled(problem is None and not busy)
        if problem is None and not busy:
            # Size the curves' axes now, so that pressing Start needs no full (slow) redraw.
            self.run_page.curves.set_plan(self.current_config().total_epochs)

    def _show_problem(self, text: str | None) -> None:
        self.problem.setText(text or "")
        self.problem.setVisible(bool(text))

    # -- the configuration ---------------------------------------------------------------
    def current_config(self) -> TrainConfig:
        """The configuration the pages describe; ConfigError/ValueError when something is invalid."""
        config = self.model_page.apply(self.base_config)
        config = self.augment_page.apply(config)
        return dataclasses.replace(config, class_weights=self.data_page.class_weights.isChecked(),
                                   keep_batchnorm_frozen=self.stages_page.keep_bn_frozen.isChecked(),
                                   stages=self.stages_page.stages())

    def config_problem(self) -> str | None:
        if not self.data_page.is_ready():
            return "Choose a dataset (manifest) on the Data page."
        if not self.stages_page.is_valid():
            return "Fix the stages on the Stages page."
        try:
            self.current_config()
        except (ConfigError, ValueError) as exc:
            return str(exc)
        return None

    def set_config(self, config: TrainConfig) -> None:
        self.base_config = config
        self.model_page.set_config(config)
        self.augment_page.set_config(config)
        self.data_page.class_weights.setChecked(config.class_weights)
        self.stages_page.set_stages(config.stages, config.keep_batchnorm_frozen)
        self._update_buttons()

    def load_config_file(self, path: str | Path) -> None:
        self.set_config(load_config(path, min_input_size=MIN_NETWORK_INPUT_SIZE))
        self.status_message.emit(f"Configuration loaded from {path}")

    def save_config_file(self, path: str | Path) -> None:
        save_config(self.current_config(), path)
        self.status_message.emit(f"Configuration saved to {path}; run it with "
                                 f"`histoclass train --config {path} --manifest … --out …`")

    def _load_config_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a training configuration", self.state.last_dir("config"),
                                              "Configuration (*.json);;All files (*)")
        if path:
            self.state.set_last_dir("config", path)
            try:
                self.load_config_file(path)
            except ConfigError as exc:
                self._show_problem(str(exc))

    def _save_config_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the training configuration",
                                              str(Path(self.state.last_dir("config")) / "config.json"),
                                              "Configuration (*.json)")
        if path:
            self.state.set_last_dir("config", path)
            try:
                self.save_config_file(path)
            except (ConfigError, ValueError, OSError) as exc:
                self._show_problem(str(exc))

    # -- runs ----------------------------------------------------------------------------
    def _on_manifest(self, manifest) -> None:
        self.augment_page.set_manifest(manifest)
        self._update_buttons()

    def start_training(self) -> str | None:
        """Start a new run with the current settings; returns its folder (None if not possible)."""
        problem = self.config_problem()
        if problem or self.run_page.busy:
            self._show_problem(problem or "A run is already in progress.")
            return None
        config = self.current_config()
        label = Path(self.data_page.manifest.root).name or "run"
        run_dir = new_run_dir(self.runs_page.runs_dir(), label)
        self.go_to(RUN)
        self.run_page.start(config, self.data_page.manifest_path, str(run_dir))
        self._update_buttons()
        return str(run_dir)

    def _on_run_finished(self, result) -> None:
        root = self.data_page.manifest.root if self.data_page.manifest is not None else None
        self.results_page.show_run(result.run_dir, result.evaluation, image_root=root)
        self._update_buttons()
        self.go_to(RESULTS)
        self.status_message.emit(f"Training finished: {result.bundle_path}")

    def _on_run_stopped(self, message: str) -> None:
        self._update_buttons()
        self.status_message.emit(message)

    def _open_model(self, path: str) -> None:
        self.state.set_model_path(path)
        self.open_images_requested.emit([])

    def _open_images(self, paths: list) -> None:
        """Test images from the results: the viewer opens them with this run's model."""
        bundle = self.results_page.bundle_path
        if bundle is not None and self.state.model_path != str(bundle):
            self.state.set_model_path(str(bundle))
        self.open_images_requested.emit(list(paths))

    def _run_images_root(self, run: RunInfo) -> str | None:
        """The run's image folder: its manifest copy's; or, when that folder has gone, the folder
        the open manifest points to if it is the same dataset (same hash: located after a move).
        A resumable copy is then pointed there too, every image checked first."""
        import json

        from core.errors import HistoClassError
        from core.manifest import relocate_manifest

        copy = run.path / "manifest.json"
        try:
            root = json.loads(copy.read_text(encoding="utf-8")).get("root")
        except (OSError, ValueError, AttributeError):
            return None
        current = self.data_page.manifest
        if (not root or Path(root).is_dir() or current is None or current.hash != run.manifest_hash
                or not Path(current.root).is_dir()):
            return root
        if run.status != "finished":
            try:
                relocate_manifest(copy, current.root)
            except HistoClassError as exc:
                self._show_problem(f"Run {run.name}: its images are not where the manifest says: {exc}")
                return root
        return current.root

    def reopen_run(self, run: RunInfo) -> None:
        """Finished: show its results. Interrupted: show its curves and offer Resume."""
        if run.status == "finished":
            self.results_page.show_run(run.path, image_root=self._run_images_root(run))
            self.run_page.show_history(str(run.path), run.total_epochs)
            self.go_to(RESULTS)
            return
        try:
            config = config_from_dict(run.config, min_input_size=MIN_NETWORK_INPUT_SIZE)
        except ConfigError as exc:
            self._show_problem(f"Run {run.name} cannot be resumed: {exc}")
            return
        if self.run_page.slot.busy:
            self._show_problem(f"A run is in progress: cancel it or let it finish before resuming {run.name}.")
            return
        self._run_images_root(run)  # a moved dataset: the run resumes on its new folder
        self.run_page.set_resumable(config, str(run.path / "manifest.json"), str(run.path))
        self.go_to(RUN)

    def start_from_run(self, run: RunInfo) -> None:
        """Copy a past run's configuration (and, if none is open, its dataset) into the wizard."""
        try:
            self.set_config(config_from_dict(run.config, min_input_size=MIN_NETWORK_INPUT_SIZE))
        except ConfigError as exc:
            self._show_problem(f"Run {run.name} has an unusable configuration: {exc}")
            return
        if not self.data_page.is_ready() and (run.path / "manifest.json").is_file():
            self.data_page.load(str(run.path / "manifest.json"))
        self.go_to(DATA)
        self.status_message.emit(f"Settings of {run.name} loaded: adjust them and start a new run.")

    def shutdown(self) -> None:
        """Called by the main window on close: stop a running training within one batch."""
        self.run_page.slot.cancel()
