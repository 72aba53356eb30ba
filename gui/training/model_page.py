"""Wizard page 2: input size, batch size, pretrained weights, dropout and L2 penalties."""
from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.config import MAX_INPUT_SIZE, MIN_INPUT_SIZE, Regularization, TrainConfig
from core.weights import resolve_weights
from gui.appearance import set_role
from gui.worker import FunctionWorker, TaskSlot

WEIGHT_CHOICES = (("ImageNet (pretrained, recommended)", "imagenet"),
                  ("None: random initialisation", "none"),
                  ("A weights file…", "file"))


def _import_job(path: str):
    from core.weights import import_weights

    return import_weights(path)


def _download_job():
    from core.weights import download_weights

    return download_weights()


def _sci_spin(maximum: float, step: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(6)
    spin.setRange(0.0, maximum)
    spin.setSingleStep(step)
    return spin


class ModelPage(QWidget):
    # True when training would start from random weights (none chosen, or none found).
    random_init_changed = Signal(bool)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.random_init = True
        self.slot = TaskSlot()
        self.input_size = QSpinBox()
        self.input_size.setRange(MIN_INPUT_SIZE, MAX_INPUT_SIZE)
        self.input_size.setSingleStep(32)
        self.input_size.setSuffix(" px")
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 1024)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.weights = QComboBox()
        for label, value in WEIGHT_CHOICES:
            self.weights.addItem(label, value)
        self.weights_file = QLineEdit()
        self.weights_file.setPlaceholderText("path to resnet50_…_notop.h5")
        self.browse_button = QPushButton("Browse…")
        self.import_button = QPushButton("Import weights file…")
        self.download_button = QPushButton("Download (needs internet)")
        self.weights_status = QLabel()
        self.weights_status.setWordWrap(True)
        self.dropout = QDoubleSpinBox()
        self.dropout.setRange(0.0, 0.95)
        self.dropout.setSingleStep(0.05)
        self.kernel_l2 = _sci_spin(1.0, 1e-4)
        self.bias_l2 = _sci_spin(1.0, 1e-4)
        self.early_stopping = QCheckBox("Stop a stage early when validation loss stops improving")
        self.patience = QSpinBox()
        self.patience.setRange(0, 1000)
        self.patience.setSuffix(" epochs without improvement")
        self._layout()
        self._connect()
        self.set_config(TrainConfig())

    def _layout(self) -> None:
        network = QFormLayout()
        network.addRow("Input size", self.input_size)
        network.addRow("Batch size", self.batch_size)
        network.addRow("Random seed", self.seed)
        hint = QLabel("Images are resized to the input size inside the model. 224 px is ResNet50's "
                      "native size; smaller trains faster but sees less detail.")
        hint.setWordWrap(True)
        set_role(hint, "hint")
        network.addRow(hint)
        box_net = QGroupBox("Network")
        box_net.setLayout(network)
        file_row = QHBoxLayout()
        file_row.addWidget(self.weights_file, 1)
        file_row.addWidget(self.browse_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.download_button)
        buttons.addStretch(1)
        weights = QFormLayout()
        weights.addRow("Start from", self.weights)
        weights.addRow("File", file_row)
        weights.addRow(self.weights_status)
        weights.addRow(buttons)
        box_weights = QGroupBox("Pretrained weights")
        box_weights.setLayout(weights)
        reg = QFormLayout()
        reg.addRow("Dropout before the head", self.dropout)
        reg.addRow("L2 penalty on kernels", self.kernel_l2)
        reg.addRow("L2 penalty on biases", self.bias_l2)
        reg.addRow(self.early_stopping)
        reg.addRow("Patience", self.patience)
        box_reg = QGroupBox("Regularisation")
        box_reg.setLayout(reg)
        layout = QVBoxLayout(self)
        layout.addWidget(box_net)
        layout.addWidget(box_weights)
        layout.addWidget(box_reg)
        layout.addStretch(1)

    def _connect(self) -> None:
        self.weights.currentIndexChanged.connect(self.refresh_weights)
        self.weights_file.editingFinished.connect(self.refresh_weights)
        self.browse_button.clicked.connect(self._browse)
        self.import_button.clicked.connect(self._import)
        self.download_button.clicked.connect(self._download)
        self.early_stopping.toggled.connect(self.patience.setEnabled)

    # -- weights -----------------------------------------------------------------------
    def weights_setting(self) -> str:
        choice = self.weights.currentData()
        if choice == "file":
            return self.weights_file.text().strip() or "imagenet"
        return choice

    def refresh_weights(self) -> None:
        is_file = self.weights.currentData() == "file"
        self.weights_file.setEnabled(is_file)
        self.browse_button.setEnabled(is_file)
        resolution = resolve_weights(self.weights_setting())
        self.random_init = resolution.path is None
        self.random_init_changed.emit(self.random_init)
        if resolution.path is None:
            set_role(self.weights_status, "warning")
            self.weights_status.setText("⚠ " + resolution.message)
        else:
            set_role(self.weights_status, "success")
            self.weights_status.setText(resolution.message)
        looked = "\n".join(f"{'found' if ok else 'not found'}: {p}" for p, ok in resolution.searched)
        self.weights_status.setToolTip(looked or "Pretrained weights switched off.")

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "ResNet50 weights file", self.state.last_dir("weights"),
                                              "Keras weights (*.h5 *.weights.h5);;All files (*)")
        if path:
            self.state.set_last_dir("weights", path)
            self.weights_file.setText(path)
            self.refresh_weights()

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a ResNet50 no-top weights file",
                                              self.state.last_dir("weights"), "Keras weights (*.h5);;All files (*)")
        if path:
            self.state.set_last_dir("weights", path)
            self._run_weights_job(FunctionWorker(_import_job, path), "Checking and importing the weights file…")

    def _download(self) -> None:
        self._run_weights_job(FunctionWorker(_download_job), "Downloading the ImageNet weights (about 95 MB)…")

    def _run_weights_job(self, worker: FunctionWorker, message: str) -> None:
        self.weights_status.setText(message)
        self.import_button.setEnabled(False)
        self.download_button.setEnabled(False)
        worker.signals.finished.connect(self._weights_done)
        worker.signals.failed.connect(self._weights_failed)
        self.slot.start(worker)

    def _weights_done(self, _path) -> None:
        self.import_button.setEnabled(True)
        self.download_button.setEnabled(True)
        self.weights.setCurrentIndex(self.weights.findData("imagenet"))
        self.refresh_weights()

    def _weights_failed(self, exc) -> None:
        self.import_button.setEnabled(True)
        self.download_button.setEnabled(True)
        set_role(self.weights_status, "error")
        self.weights_status.setText(str(exc))

    # -- configuration -------------------------------------------------------------------
    def set_config(self, config: TrainConfig) -> None:
        self.input_size.setMinimum(min(self.input_size.minimum(), config.input_size))
        self.input_size.setValue(config.input_size)
        self.batch_size.setValue(config.batch_size)
        self.seed.setValue(config.seed)
        if config.weights in ("imagenet", "none"):
            self.weights.setCurrentIndex(self.weights.findData(config.weights))
        else:
            self.weights.setCurrentIndex(self.weights.findData("file"))
            self.weights_file.setText(config.weights)
        self.dropout.setValue(config.regularization.dropout)
        self.kernel_l2.setValue(config.regularization.kernel_l2)
        self.bias_l2.setValue(config.regularization.bias_l2)
        self.early_stopping.setChecked(config.early_stopping.enabled)
        self.patience.setValue(config.early_stopping.patience)
        self.patience.setEnabled(config.early_stopping.enabled)
        self.refresh_weights()

    def apply(self, config: TrainConfig) -> TrainConfig:
        """`config` with this page's values."""
        return dataclasses.replace(
            config,
            input_size=self.input_size.value(),
            batch_size=self.batch_size.value(),
            seed=self.seed.value(),
            weights=self.weights_setting(),
            regularization=Regularization(kernel_l2=self.kernel_l2.value(), bias_l2=self.bias_l2.value(),
                                          dropout=self.dropout.value()),
            early_stopping=dataclasses.replace(config.early_stopping, enabled=self.early_stopping.isChecked(),
                                               patience=self.patience.value()),
        )
