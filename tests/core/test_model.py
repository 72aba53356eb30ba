"""The network: raw-pixel input, L2 really in the loss, stage trainability, BatchNorm rule,
augmentation in training only, safe-mode round trip, Grad-CAM and the augmentation preview."""
from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from core.config import Augmentation, Regularization, default_config
from core.errors import ConfigError
from core.model import (
    Augment,
    ResNetPreprocess,
    augment_preview,
    build_model,
    gradcam,
    resize_for_model,
    set_trainable,
    trainable_blocks,
)

NO_AUG = Augmentation("none", 0.0, 0.0)


def tiny_config(**changes):
    base = dataclasses.replace(default_config(), input_size=32)
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="module")
def model():
    return build_model(3, tiny_config())


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(4, 40, 56, 3), dtype=np.uint8)


def test_takes_raw_uint8_of_any_size(model, images):
    assert model.input.dtype == "uint8"
    for batch in (images, images[:, :32, :32], np.zeros((1, 300, 120, 3), np.uint8)):
        probs = np.asarray(model(batch, training=False))
        assert probs.shape == (len(batch), 3)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_bare_call_is_inference_and_training_augments(model, images):
    inference = np.asarray(model(images, training=False))
    np.testing.assert_array_equal(np.asarray(model(images)), inference)
    np.testing.assert_array_equal(np.asarray(model.predict(images, verbose=0)), inference)
    assert not np.allclose(np.asarray(model(images, training=True)), inference, atol=1e-4)


def test_augment_layer_acts_in_training_only(images):
    layer = Augment("horizontal_and_vertical", 0.25, 0.3, seed=1)
    x = images.astype("float32")
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    assert not np.allclose(np.asarray(layer(x, training=True)), x)


def test_preprocessing_equals_keras_resnet50():
    pixels = np.random.default_rng(1).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32")
    expected = keras.applications.resnet50.preprocess_input(pixels.copy())
    np.testing.assert_allclose(np.asarray(ResNetPreprocess()(pixels)), expected, atol=1e-4)


def test_host_resize_matches_the_model_resize(model):
    image = np.random.default_rng(2).integers(0, 256, size=(90, 140, 3), dtype=np.uint8)
    inside = np.asarray(model.get_layer("resize")(image[None]))[0]
    outside = resize_for_model(image, 32).astype("float32")
    assert np.abs(inside - outside).mean() < 1.0


def _regularized(model):
    return [v for v in model.trainable_weights if v.regularizer is not None]


def test_l2_covers_every_conv_and_dense_kernel_and_bias(model):
    set_trainable(model, "all")
    convs_and_dense = [l for l in model.get_layer("resnet50").layers + model.layers
                       if isinstance(l, (keras.layers.Conv2D, keras.layers.Dense))]
    expected = sum(1 + int(l.use_bias) for l in convs_and_dense)
    assert len(_regularized(model)) == expected == len(model.losses)
    names = {v.path.rsplit("/", 1)[-1] for v in _regularized(model)}
    assert names == {"kernel", "bias"}
    set_trainable(model, "head")


def test_l2_strength_is_in_the_training_loss(images):
    from core.model import apply_l2

    labels = np.array([0, 1, 2, 0])
    net = build_model(3, tiny_config(augmentation=NO_AUG, regularization=Regularization(0, 0, 0)))
    set_trainable(net, "from:conv5_block3")  # three convolutions and the head: quick to compile
    measured = {}
    for strength in (0.0, 0.01, 0.02):
        apply_l2(net, strength, strength)
        # Learning rate 0: the weights never move, only the penalty differs between runs.
        net.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0),
                    loss="sparse_categorical_crossentropy")
        penalty = float(sum(np.asarray(l) for l in net.losses)) if net.losses else 0.0
        measured[strength] = (float(net.train_on_batch(images, labels)), penalty)
    assert measured[0.0][1] == 0.0
    assert measured[0.01][1] > 0
    assert measured[0.02][1] == pytest.approx(2 * measured[0.01][1], rel=1e-4)
    for strength in (0.01, 0.02):
        extra = measured[strength][0] - measured[0.0][0]
        assert extra == pytest.approx(measured[strength][1], rel=1e-3)


def test_l2_survives_save_and_load(model, tmp_path):
    set_trainable(model, "all")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
    set_trainable(loaded, "all")
    assert float(sum(loaded.losses)) == pytest.approx(float(sum(model.losses)), rel=1e-6)
    set_trainable(model, "head")


def _trainable_layer_names(model):
    backbone = model.get_layer("resnet50")
    return {l.name for l in backbone.layers if l.trainable_weights}, \
           {l.name for l in model.layers if l.trainable_weights and l is not backbone}


@pytest.mark.parametrize("stage, first_block", [
    ("head", None), ("from:conv5_block1", "conv5_block1"), ("from:conv4_block1", "conv4_block1"),
    ("all", "conv1"),
])
def test_trainable_weights_per_stage(model, stage, first_block):
    set_trainable(model, stage)
    backbone_layers, head_layers = _trainable_layer_names(model)
    assert head_layers == {"logits"}
    names = [l.name for l in model.get_layer("resnet50").layers]
    if first_block is None:
        assert backbone_layers == set() and trainable_blocks(model) == []
    else:
        start = next(i for i, n in enumerate(names) if n.startswith(first_block + "_"))
        weighted = {l.name for l in model.get_layer("resnet50").layers[start:]
                    if l.weights and not isinstance(l, keras.layers.BatchNormalization)}
        assert backbone_layers == weighted
        assert trainable_blocks(model)[0] == first_block
    assert not any("_bn" in v.path for v in model.trainable_weights)
    set_trainable(model, "head")


def test_batchnorm_can_be_unfrozen_and_bad_stage_refused(model):
    set_trainable(model, "from:conv5_block3", keep_batchnorm_frozen=False)
    assert any("conv5_block3_1_bn" in v.path for v in model.trainable_weights)
    assert not any("conv5_block2" in v.path for v in model.trainable_weights)
    with pytest.raises(ConfigError):
        set_trainable(model, "from:conv6_block1")
    set_trainable(model, "head")


@pytest.mark.parametrize("keep_frozen", [True, False])
def test_backbone_batchnorm_stays_in_inference_mode(images, keep_frozen):
    net = build_model(3, tiny_config(keep_batchnorm_frozen=keep_frozen, augmentation=NO_AUG))
    set_trainable(net, "from:conv5_block3", keep_batchnorm_frozen=keep_frozen)
    net.compile(optimizer=keras.optimizers.SGD(1e-3), loss="sparse_categorical_crossentropy")
    bn = net.get_layer("resnet50").get_layer("conv5_block3_1_bn")
    before = np.asarray(bn.moving_mean).copy()
    net.train_on_batch(images, np.array([0, 1, 2, 0]))
    unchanged = np.allclose(np.asarray(bn.moving_mean), before)
    # Frozen BN runs in inference mode even while the convolutions around it train.
    assert unchanged is keep_frozen


def test_needs_two_classes():
    with pytest.raises(ConfigError):
        build_model(1, tiny_config())


@pytest.fixture(scope="module")
def cam_model():
    return build_model(2, dataclasses.replace(default_config(), input_size=64, augmentation=NO_AUG))


def _features(net, image):
    x = net.get_layer("resize")(image[None])
    x = net.get_layer("preprocess")(x)
    return np.asarray(net.get_layer("resnet50")(x, training=False))[0]  # (2, 2, 2048)


def test_gradcam_highlights_the_region_the_class_looks_at(cam_model):
    rng = np.random.default_rng(3)
    image = np.full((64, 64, 3), 200, np.uint8)
    image[:32, :32] = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)  # tissue top-left
    feats = _features(cam_model, image)
    # Class 0's score is +1 from the top-left cell's features and -1 from each other cell;
    # class 1 the opposite (least-squares weights through the 2x2 feature map).
    cells = feats.reshape(4, -1).astype(np.float64)
    target = np.array([1.0, -1.0, -1.0, -1.0])
    direction = (cells.T @ np.linalg.solve(cells @ cells.T, target)).astype(np.float32)
    cam_model.get_layer("logits").set_weights([np.stack([direction, -direction], axis=1),
                                               np.zeros(2, np.float32)])
    top_left = np.zeros((64, 64), bool)
    top_left[:32, :32] = True
    for cls, inside in ((0, True), (1, False)):
        heat = gradcam(cam_model, image, cls)
        assert heat.shape == (64, 64) and heat.dtype == np.float32
        assert heat.min() >= 0.0 and heat.max() == pytest.approx(1.0)
        assert bool(heat[top_left].mean() > heat[~top_left].mean()) is inside
        # With average pooling and a dense head, Grad-CAM equals CAM: ReLU(sum_k w_kc A_k).
        cam = np.maximum(np.einsum("hwc,c->hw", feats, direction * (1 if cls == 0 else -1)), 0)
        expected = np.asarray(keras.ops.image.resize(cam[None, :, :, None], (64, 64)))[0, :, :, 0]
        np.testing.assert_allclose(heat, expected / expected.max(), atol=1e-3)


def test_gradcam_follows_the_image_size(cam_model):
    image = np.random.default_rng(4).integers(0, 256, size=(90, 150, 3), dtype=np.uint8)
    heat = gradcam(cam_model, image)
    assert heat.shape == (90, 150)
    assert 0.0 <= heat.min() and heat.max() <= 1.0
    with pytest.raises(ValueError):
        gradcam(cam_model, image[:, :, 0])


def test_augment_preview():
    image = np.random.default_rng(5).integers(0, 256, size=(48, 40, 3), dtype=np.uint8)
    views = augment_preview(image, Augmentation("horizontal_and_vertical", 0.25, 0.3), 4, seed=3)
    assert len(views) == 4
    assert all(v.shape == image.shape and v.dtype == np.uint8 for v in views)
    assert len({v.tobytes() for v in views}) > 1
    again = augment_preview(image, Augmentation("horizontal_and_vertical", 0.25, 0.3), 4, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(views, again))
    plain = augment_preview(image, NO_AUG, 2, seed=3)
    assert all(np.array_equal(v, image) for v in plain)
    assert augment_preview(image, NO_AUG, 0, seed=3) == []
