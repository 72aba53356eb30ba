"""HistoClass computing core: data, model, training, inference and metrics. Never imports Qt."""

__version__ = "0.1.0"

RESEARCH_NOTICE = "For research use only. Not for clinical diagnosis."
