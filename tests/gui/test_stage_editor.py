"""The stage editor: table model edits, validation messages, presets, diagram; no TensorFlow."""
from __future__ import annotations

from PySide6.QtCore import Qt

from core.config import RESNET_BLOCKS, Stage, default_stages
from gui.training.stage_model import (
    BLOCK,
    EPOCHS,
    MODE,
    NAME,
    RATE,
    SCHEDULE,
    StageTableModel,
    preset_stages,
)
from gui.training.stages_page import StagesPage

EDIT = Qt.ItemDataRole.EditRole


def test_default_rows_are_the_engine_default():
    model = StageTableModel()
    assert model.rowCount() == 2
    assert model.stages() == default_stages()
    assert model.index(1, MODE).data() == "from a block"
    assert model.index(1, BLOCK).data() == "conv4_block1"
    assert model.index(0, BLOCK).data() == "—"  # head only: the block does not apply
    assert not model.flags(model.index(0, BLOCK)) & Qt.ItemFlag.ItemIsEditable


def test_impossible_values_are_kept_shown_and_refused():
    model = StageTableModel()
    assert model.setData(model.index(0, EPOCHS), "0", EDIT)
    assert model.setData(model.index(1, RATE), "-0.01", EDIT)
    errors = model.errors()
    assert [(r, c) for r, c, _ in errors] == [(0, EPOCHS), (1, RATE)]
    assert "at least 1" in errors[0][2]
    assert "above 0" in errors[1][2]
    assert model.index(0, EPOCHS).data() == "0"  # what the user typed stays visible
    assert model.index(0, EPOCHS).data(Qt.ItemDataRole.ToolTipRole) == errors[0][2]
    assert model.index(0, EPOCHS).data(Qt.ItemDataRole.BackgroundRole) is not None
    try:
        model.stages()
    except ValueError as exc:
        assert "at least 1" in str(exc)
    else:
        raise AssertionError("invalid stages were accepted")
    model.setData(model.index(0, EPOCHS), "3", EDIT)
    model.setData(model.index(1, RATE), "1e-5", EDIT)
    assert model.errors() == []
    assert [s.epochs for s in model.stages()] == [3, 15]
    assert model.stages()[1].learning_rate == 1e-5


def test_text_rates_names_and_duplicates_are_checked():
    model = StageTableModel()
    model.setData(model.index(0, RATE), "fast", EDIT)
    model.setData(model.index(1, NAME), "head", EDIT)
    messages = [m for _, _, m in model.errors()]
    assert any("number" in m for m in messages)
    assert any("unique" in m for m in messages)
    model.setData(model.index(0, EPOCHS), "2.5", EDIT)
    assert any("whole number" in m for _, _, m in model.errors())


def test_choice_columns_build_trainable():
    model = StageTableModel()
    model.setData(model.index(0, MODE), "all", EDIT)
    model.setData(model.index(1, BLOCK), "conv5_block1", EDIT)
    model.setData(model.index(1, SCHEDULE), "constant", EDIT)
    assert not model.setData(model.index(1, BLOCK), "conv9_block9", EDIT)  # not a ResNet50 block
    stages = model.stages()
    assert stages[0].trainable == "all"
    assert stages[1].trainable == "from:conv5_block1"
    assert stages[1].schedule == "constant"


def test_add_duplicate_remove_and_move():
    model = StageTableModel()
    row = model.add_stage()
    assert row == 2 and model.rowCount() == 3
    dup = model.duplicate_stage(0)
    assert dup == 1
    names = [r.name for r in model.rows()]
    assert names == ["head", "head_copy", "fine_tune", "stage"]
    assert model.move_stage(3, -1) == 2
    assert [r.name for r in model.rows()] == ["head", "head_copy", "stage", "fine_tune"]
    assert model.move_stage(0, -1) == 0  # already first
    model.remove_stage(1)
    assert [r.name for r in model.rows()] == ["head", "stage", "fine_tune"]
    for _ in range(3):
        model.remove_stage(0)
    assert model.errors() == [(-1, -1, "Add at least one stage.")]


def test_presets():
    model = StageTableModel()
    model.apply_preset("head only")
    assert model.stages() == (Stage("head", 20, 1e-3, "head"),)
    model.apply_preset("full fine-tune")
    assert model.stages()[0].trainable == "all"
    assert preset_stages("head then fine-tune") == default_stages()


def test_page_shows_messages_and_diagram(qtbot):
    page = StagesPage()
    qtbot.addWidget(page)
    states = []
    page.validity_changed.connect(states.append)
    page.model.setData(page.model.index(1, EPOCHS), "0", EDIT)
    assert states[-1] is False
    assert "Stage 2, epochs" in page.error_label.text()
    assert not page.is_valid()
    page.model.setData(page.model.index(1, EPOCHS), "4", EDIT)
    assert states[-1] is True
    assert page.error_label.text() == ""
    assert "9 epochs" in page.total_label.text()
    head, fine = page.model.rows()
    assert page.diagram.trained_blocks(head) == []
    assert page.diagram.trained_blocks(fine) == list(RESNET_BLOCKS[RESNET_BLOCKS.index("conv4_block1"):])
    page.show()
    page.grab()  # the diagram paints without error
    page.table.selectRow(0)
    page.duplicate_button.click()
    assert page.model.rowCount() == 3
    page.preset.setCurrentText("head only")
    page.apply_preset_button.click()
    assert page.model.rowCount() == 1
    page.keep_bn_frozen.setChecked(False)
    assert page.diagram._bn_frozen is False
