"""A self-contained HTML report of one training run: configuration, curves, metrics, notice.

Everything is read from the run folder (core.runs), pictures are embedded as base64 PNG,
so the one file can be mailed or archived. No Qt; matplotlib draws off-screen (Agg).
"""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from core import RESEARCH_NOTICE, __version__
from core.fileio import write_text_atomic
from core.run_folder import RunFolder
from core.runs import SCORE_KEYS, SCORE_LABELS, read_history, read_run

STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
.notice { background: #fff3cd; border: 1px solid #e0c36c; padding: .6em 1em; font-weight: bold; }
.warning { color: #8a4b00; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: .25em .7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
"""


def _png_tag(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def curves_png(history: list[dict[str, Any]]) -> bytes | None:
    """Loss and accuracy per epoch (train and validation), stage starts dashed."""
    if not history:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(9, 3.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    x = [row.get("global_epoch", i + 1) for i, row in enumerate(history)]
    for ax, key, title in ((axes[0], "loss", "Loss"), (axes[1], "accuracy", "Accuracy")):
        for name, style, label in ((key, "o-", "train"), (f"val_{key}", "s-", "validation")):
            points = [(xi, row[name]) for xi, row in zip(x, history) if isinstance(row.get(name), (int, float))]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], style, ms=4, label=label)
        previous = None
        for xi, row in zip(x, history):
            if row.get("stage") != previous:
                ax.axvline(xi - 1, color="#555", ls="--", lw=0.8)
                ax.annotate(str(row.get("stage", "")), (xi - 1, 1.0), xycoords=("data", "axes fraction"),
                            xytext=(3, -12), textcoords="offset points", fontsize=8)
                previous = row.get("stage")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _score(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "–"


def _metrics_html(evaluation: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{SCORE_LABELS[k]}</td><td>{_score(evaluation.get(k))}</td></tr>" for k in SCORE_KEYS)
    rows += f"<tr><td>Expected calibration error</td><td>{_score(evaluation.get('ece'))}</td></tr>"
    per_class = evaluation.get("per_class") or {}
    class_rows = "".join(
        f"<tr><td>{html.escape(str(name))}</td><td>{_score(v.get('precision'))}</td><td>{_score(v.get('recall'))}"
        f"</td><td>{_score(v.get('f1'))}</td><td>{v.get('support', '–')}</td></tr>"
        for name, v in per_class.items() if isinstance(v, dict)
    )
    return (f"<table>{rows}</table><h3>Per class</h3><table><tr><th>Class</th><th>Precision</th>"
            f"<th>Recall</th><th>F1</th><th>Images</th></tr>{class_rows}</table>")


def _confusion_html(evaluation: dict[str, Any]) -> str:
    classes = [html.escape(str(c)) for c in evaluation.get("classes") or []]
    matrix = evaluation.get("confusion_matrix") or []
    if not classes or not matrix:
        return ""
    head = "".join(f"<th>{c}</th>" for c in classes)
    body = "".join(f"<tr><th>{c}</th>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
                   for c, row in zip(classes, matrix))
    return f"<table><tr><th>true \\ predicted</th>{head}</tr>{body}</table>"


def render_report(run_dir: str | Path) -> str:
    """The report of the run in `run_dir` as one HTML string."""
    run = read_run(run_dir)
    folder = Path(run_dir)
    try:
        evaluation = json.loads((folder / "evaluation.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        evaluation = {}
    parts = [f"<h1>HistoClass training report: {html.escape(run.name)}</h1>",
             f'<p class="notice">{html.escape(RESEARCH_NOTICE)}</p>']
    if _random_init(folder, run.config):
        parts.append('<p class="warning">Trained from random initialisation (no pretrained weights): '
                     "accuracy is much lower than with ImageNet weights.</p>")
    for warning in evaluation.get("warnings") or []:
        parts.append(f'<p class="warning">⚠ {html.escape(str(warning))}</p>')
    parts.append(f"<p>Date: {run.created:%Y-%m-%d %H:%M} · Data: {html.escape(run.data)} · Status: {run.status} · "
                 f"Epochs: {run.epochs_done} / {run.total_epochs} · HistoClass {__version__}</p>")
    parts.append(f"<p>{html.escape(run.summary)}</p>")
    if evaluation:
        split = html.escape(str(evaluation.get("split", "test")))
        parts.append(f"<h2>Evaluation on the {split} split ({evaluation.get('images', '?')} images)</h2>")
        parts.append(_metrics_html(evaluation))
        parts.append("<h3>Confusion matrix</h3>" + _confusion_html(evaluation))
        picture = folder / "confusion_matrix.png"
        if picture.is_file():
            parts.append(_png_tag(picture.read_bytes(), "confusion matrix"))
    else:
        parts.append("<p>This run has no evaluation yet (it was cancelled or interrupted).</p>")
    curves = curves_png(read_history(folder))
    if curves:
        parts.append("<h2>Training curves</h2>" + _png_tag(curves, "training curves"))
    parts.append("<h2>Configuration</h2><pre>" + html.escape(json.dumps(run.config, indent=2)) + "</pre>")
    parts.append(f'<p class="notice">{html.escape(RESEARCH_NOTICE)}</p>')
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>HistoClass report {html.escape(run.name)}"
            f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n")


def _random_init(folder: Path, config: dict | None) -> bool:
    """Whether training really started from random weights: switched off, or asked for and not
    found (as the run recorded when it started); the configuration alone for older runs."""
    state = RunFolder(folder).read_state()
    if state is not None and state.weights_source:
        return state.weights_source == "none"
    return bool(config) and config.get("weights") == "none"


def write_report(run_dir: str | Path, path: str | Path) -> Path:
    """Write the HTML report of `run_dir` to `path` (atomically) and return the path."""
    write_text_atomic(path, render_report(run_dir))
    return Path(path)
