"""Typed errors whose messages a pathologist can act on.

They cross threads as objects: the GUI worker emits them and the view decides how to
show them; the command line prints the message on one line and exits 2.
"""
from __future__ import annotations


class HistoClassError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class DatasetError(HistoClassError):
    """A folder cannot be scanned or split (missing, empty, no usable images...)."""


class ManifestError(HistoClassError):
    """A manifest file is missing, damaged, of an unknown version, or names missing images."""


class ImagesMissingError(ManifestError):
    """The images a manifest names are not under its folder (moved, unplugged, another PC).

    `root` is the folder looked in; pointing the manifest at the images' new place fixes it.
    """

    def __init__(self, message: str, root: str, missing: int = 0, total: int = 0):
        super().__init__(message)
        self.root = root
        self.missing, self.total = missing, total  # 0, 0 when the folder itself is gone


class ConfigError(HistoClassError):
    """A training configuration has an unknown key or an impossible value."""


class WeightsError(HistoClassError):
    """A pretrained-weights file is missing, unreadable or not ResNet50 no-top weights."""


class BundleError(HistoClassError):
    """A model bundle is damaged, foreign, tampered with, or of an unknown version."""


class ImageError(HistoClassError):
    """An image cannot be decoded."""
