"""A tiny untrained bundle for bundle/predict tests (ResNet50 at 32 px, random weights)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from core.config import Augmentation, config_to_dict, default_config

CLASSES = ["adenosis", "ductal_carcinoma", "fibroadenoma"]
GROUPS = {"adenosis": "benign", "ductal_carcinoma": "malignant", "fibroadenoma": "benign"}


def tiny_config(input_size: int = 32):
    return dataclasses.replace(default_config(), input_size=input_size,
                               augmentation=Augmentation("horizontal", 0.1, 0.1))


def make_tiny_bundle(path: Path, input_size: int = 32):
    """Build, save and return (model, card) for a 3-class bundle at `path`."""
    from core.bundle import make_card, save_bundle
    from core.model import build_model

    config = tiny_config(input_size)
    model = build_model(len(CLASSES), config)
    card = make_card(classes=CLASSES, input_size=input_size, config=config_to_dict(config),
                     manifest_hash="abc123", metrics={"accuracy": 0.5}, weights_source="none",
                     groups=GROUPS, name="tiny test model")
    save_bundle(model, card, path)
    return model, card
