"""Curves and run-page progress fed with hand-written core.train events (no TensorFlow)."""
from __future__ import annotations

from gui.training.curves_widget import CurvesWidget
from gui.training.run_page import RunPage, format_duration


def batch(stage, index, epoch, global_epoch, b, batches=4, loss=1.0, acc=0.5, eta=30.0):
    return {"event": "batch", "stage": stage, "stage_index": index, "epoch": epoch,
            "global_epoch": global_epoch, "batch": b, "batches": batches,
            "metrics": {"loss": loss, "accuracy": acc}, "eta_s": eta}


def epoch(stage, index, e, global_epoch, loss, acc, val_loss, val_acc):
    return {"event": "epoch", "stage": stage, "stage_index": index, "epoch": e, "global_epoch": global_epoch,
            "metrics": {"loss": loss, "accuracy": acc, "val_loss": val_loss, "val_accuracy": val_acc},
            "eta_s": 10.0}


TWO_STAGES = [
    {"event": "start", "stages": ["head", "tune"], "total_epochs": 3, "weights_source": "none",
     "warnings": ["No pretrained weights"], "device": "CPU", "resumed": False,
     "train_images": 24, "val_images": 12, "test_images": 12},
    {"event": "stage", "stage": "head", "stage_index": 0, "trainable": "head", "learning_rate": 1e-3,
     "start_epoch": 1},
    batch("head", 0, 1, 1, 1), batch("head", 0, 1, 1, 4, loss=0.8),
    epoch("head", 0, 1, 1, 0.8, 0.6, 0.9, 0.55),
    batch("head", 0, 2, 2, 2, loss=0.7),
    epoch("head", 0, 2, 2, 0.6, 0.7, 0.7, 0.65),
    {"event": "stage", "stage": "tune", "stage_index": 1, "trainable": "from:conv5_block1",
     "learning_rate": 1e-4, "start_epoch": 1},
    batch("tune", 1, 1, 3, 2, loss=0.5),
    epoch("tune", 1, 1, 3, 0.4, 0.8, 0.5, 0.75),
]


def test_curves_collect_epochs_batches_and_stage_boundaries(qtbot):
    curves = CurvesWidget()
    qtbot.addWidget(curves)
    for event in TWO_STAGES:
        curves.add_event(event)
    assert sorted(curves.epochs) == [1, 2, 3]
    assert curves.epochs[3]["val_accuracy"] == 0.75
    assert curves.batch_x == [0.25, 1.0, 1.5, 2.5]
    assert curves.boundaries == [(0.0, "head"), (2.0, "tune")]
    curves.redraw()
    xs, ys = curves._lines["val_loss"].get_data()
    assert list(xs) == [1, 2, 3] and list(ys) == [0.9, 0.7, 0.5]
    assert list(curves._lines["batch_acc"].get_data()[0]) == [0.25, 1.0, 1.5, 2.5]
    assert curves.ax_loss.get_xlim()[1] >= 3


def test_batch_trace_unaverages_keras_running_means_and_does_not_restart_each_epoch(qtbot):
    """Keras reports the running mean since the epoch began; the trace shows the batches."""
    curves = CurvesWidget()
    qtbot.addWidget(curves)
    losses = [2.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]  # true per-batch losses, 4 batches an epoch
    for e in (1, 2):
        for b in (1, 2, 4):  # batch 3 is not reported (events are throttled)
            seen = losses[(e - 1) * 4:(e - 1) * 4 + b]
            curves.add_event(batch("head", 0, e, e, b, loss=sum(seen) / b, acc=0.5))
    trace = curves.batch_loss
    # Epoch 1: 2.0, then the debiased mean of 2.0 and 1.0 weighted 0.9:1.
    assert trace[0] == 2.0 and abs(trace[1] - (0.9 * 2 + 1) / 1.9) < 1e-9
    # Epoch 2 reports running means 0.5 at every batch: the trace keeps falling smoothly
    # from epoch 1's level instead of restarting.
    assert trace[2] > trace[3] > trace[4] > trace[5] > 0.5
    assert curves.batch_acc == [0.5] * 6
    # A plain running-mean trace would have jumped from 1.25 to 0.5 at the epoch start.
    assert trace[3] - trace[2] > -0.5


def test_resumed_stage_keeps_one_boundary_where_it_began(qtbot):
    curves = CurvesWidget()
    qtbot.addWidget(curves)
    curves.load_history([
        {"global_epoch": 1, "stage": "head", "loss": 1.0, "accuracy": 0.5, "val_loss": 1.1, "val_accuracy": 0.5},
        {"global_epoch": 2, "stage": "tune", "loss": 0.9, "accuracy": 0.6, "val_loss": 1.0, "val_accuracy": 0.6},
    ])
    assert curves.boundaries == [(0.0, "head"), (1.0, "tune")]
    # Resuming in the 2nd epoch of "tune": the engine re-announces the stage with start_epoch 2.
    curves.add_event({"event": "stage", "stage": "tune", "stage_index": 1, "start_epoch": 2})
    assert curves.boundaries == [(0.0, "head"), (1.0, "tune")]
    curves.add_event(epoch("tune", 1, 2, 3, 0.8, 0.7, 0.9, 0.7))
    assert sorted(curves.epochs) == [1, 2, 3]


def test_run_page_shows_progress_time_left_and_log(qtbot):
    page = RunPage()
    qtbot.addWidget(page)
    page._total_epochs = 3
    page.on_event({"event": "decode", "done": 64, "total": 200, "cached": False})
    assert "(64/200)" in page.status.text()
    page.on_event({"event": "decode", "done": 200, "total": 200, "cached": True})
    assert page.status.text() == "Images read from the cache (200 images)."
    for event in TWO_STAGES[:2]:
        page.on_event(event)
    assert page.status.text() == "Stage 1 “head” is starting: preparing the model for its first batch…"
    page.on_event(TWO_STAGES[2])
    assert "batch 1/4" in page.status.text()
    assert "overall 1/3" in page.status.text()
    assert page.progress.value() == int(1000 * 0.25 / 3)
    assert page.eta.text() == "Time left: 30 s"
    for event in TWO_STAGES[3:]:
        page.on_event(event)
    log = page.log.toPlainText()
    assert ("Started on CPU: 3 epochs over 2 stage(s); images: 24 train, 12 val, 12 test; weights: none."
            in log)
    assert "Warning: No pretrained weights" in log
    assert "Stage 2 “tune”: trains from:conv5_block1, learning rate 0.0001" in log
    assert "Epoch 3/3 (tune 1): loss 0.4000, accuracy 0.8000, val_loss 0.5000, val_accuracy 0.7500" in log
    assert page.progress.value() == 1000
    assert page.curves.boundaries == [(0.0, "head"), (2.0, "tune")]


def test_format_duration():
    assert format_duration(None) == "–"
    assert format_duration(42) == "42 s"
    assert format_duration(125) == "2 min 05 s"
    assert format_duration(7260) == "2 h 01 min"
