"""HistoClass launcher: the one entry point of the app and of its command line."""
