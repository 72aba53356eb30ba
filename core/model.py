"""The network: Keras ResNet50 with a small softmax head, taking raw 8-bit RGB of any size.

Resizing, ResNet50's own preprocessing and (in training only) augmentation are layers
inside the model, so the trainer, the viewer and the command line give the same answer
for the same pixels. Everything saves and loads with Keras' safe mode on: the custom
layers (`ResizeImage`, `Augment`, `ResNetPreprocess`) are registered and hold no code from the file.

Layer names other modules rely on: "image" (input), "resize", "augment" (only when some
augmentation is on), "preprocess", "resnet50" (the nested backbone, `BACKBONE_NAME`, whose
output is conv5_block3_out, what Grad-CAM looks at), "pool", "dropout", "logits" (class
scores before softmax) and "probabilities" (the output).
"""
from __future__ import annotations

import os

import keras
import numpy as np
from keras import layers, ops

from core.config import RESNET_BLOCKS, Augmentation, TrainConfig, check_trainable
from core.errors import ConfigError

BACKBONE_NAME = "resnet50"
# ImageNet channel means in BGR order, as keras.applications.resnet50.preprocess_input uses.
IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="histoclass")
class ResNetPreprocess(layers.Layer):
    """Caffe-style ResNet50 preprocessing: RGB to BGR, minus the ImageNet channel means.

    Equal to `keras.applications.resnet50.preprocess_input` on 0-255 pixels, but as a
    serialisable layer (a Lambda would not load in safe mode).
    """

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        x = ops.flip(x, axis=-1)
        return x - ops.convert_to_tensor(IMAGENET_MEAN_BGR, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="histoclass")
class ResizeImage(layers.Layer):
    """Antialiased bilinear resize to size x size (aspect ratio not kept).

    Not `keras.layers.Resizing`: Keras' preprocessing layers default to `training=True`
    and, called first in a model, pass that default on to every later layer when the
    model is called without `training` (so a bare `model(x)` would augment and run
    Dropout). This layer has no training argument at all.
    """

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        return ops.image.resize(x, (self.size, self.size), interpolation="bilinear", antialias=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def augmentation_layers(augmentation: Augmentation, seed: int) -> list[layers.Layer]:
    """Keras' random layers for the augmentations switched on in `augmentation`."""
    result: list[layers.Layer] = []
    if augmentation.flip != "none":
        result.append(layers.RandomFlip(augmentation.flip, seed=seed, name="augment_flip"))
    if augmentation.rotation > 0:
        # Tissue has no "up": reflect the border instead of filling it with black.
        result.append(layers.RandomRotation(augmentation.rotation, fill_mode="reflect",
                                            seed=seed + 1, name="augment_rotation"))
    if augmentation.contrast > 0:
        result.append(layers.RandomContrast(augmentation.contrast, value_range=(0, 255),
                                            seed=seed + 2, name="augment_contrast"))
    return result


@keras.saving.register_keras_serializable(package="histoclass")
class Augment(layers.Layer):
    """Flip, rotation and contrast on 0-255 pixels, applied only when `training` is True.

    Keras' random layers default to augmenting when called without `training`, so a bare
    `model(x)` would give random answers; this wrapper augments only in `fit` (or with
    `training=True` passed explicitly), never at prediction time.
    """

    def __init__(self, flip: str = "none", rotation: float = 0.0, contrast: float = 0.0,
                 seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.settings = Augmentation(flip=flip, rotation=rotation, contrast=contrast)
        self.seed = int(seed)
        self.steps = augmentation_layers(self.settings, self.seed)

    def build(self, input_shape):
        for step in self.steps:
            step.build(input_shape)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        x = inputs
        for step in self.steps:
            x = step(x, training=True)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "flip": self.settings.flip,
                "rotation": self.settings.rotation, "contrast": self.settings.contrast,
                "seed": self.seed}


def _l2(strength: float):
    return keras.regularizers.L2(strength) if strength > 0 else None


def apply_l2(model: keras.Model, kernel_l2: float, bias_l2: float) -> int:
    """Put L2 penalties on the kernels and biases of every Conv2D and Dense layer.

    Keras 3 attaches a regularizer to a variable when the layer is built, so setting
    `layer.kernel_regularizer` on an already-built layer has no effect on the loss. Here
    the regularizer goes on the variable itself (which `Layer.losses` reads) and on the
    layer attribute (which `get_config` saves, so a reloaded checkpoint keeps it).
    Returns the number of layers changed.
    """
    changed = 0
    for layer in _walk(model):
        if not isinstance(layer, (layers.Conv2D, layers.Dense)):
            continue
        layer.kernel_regularizer = _l2(kernel_l2)
        layer.kernel.regularizer = layer.kernel_regularizer
        if layer.use_bias:
            layer.bias_regularizer = _l2(bias_l2)
            layer.bias.regularizer = layer.bias_regularizer
        changed += 1
    return changed


def _walk(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _walk(layer)


def build_backbone(input_size: int, weights_path: str | os.PathLike | None = None) -> keras.Model:
    """ResNet50 without its top, random or loaded from a no-top weights file."""
    backbone = keras.applications.ResNet50(include_top=False, weights=None,
                                           input_shape=(input_size, input_size, 3))
    if weights_path is not None:
        from core.weights import load_backbone_weights

        load_backbone_weights(backbone, weights_path)
    return backbone


def build_model(num_classes: int, config: TrainConfig, *,
                weights_path: str | os.PathLike | None = None) -> keras.Model:
    """The full classifier for `num_classes` classes, with the backbone frozen ("head" stage).

    Input: uint8 RGB images of any size, shape (batch, height, width, 3).
    Output: softmax probabilities (float32 even under mixed precision).
    """
    if num_classes < 2:
        raise ConfigError(f"a classifier needs at least 2 classes, got {num_classes}")
    size = config.input_size
    inputs = keras.Input(shape=(None, None, 3), dtype="uint8", name="image")
    x = ResizeImage(size, name="resize")(inputs)
    if config.augmentation.active:
        aug = config.augmentation
        x = Augment(aug.flip, aug.rotation, aug.contrast, config.seed, name="augment")(x)
    x = ResNetPreprocess(name="preprocess")(x)
    # The transfer-learning guide calls the backbone with training=False to keep BatchNorm
    # in inference mode. Keras 3 functional models override that baked-in flag with the
    # outer call's (fit's training=True), so the rule is enforced by set_trainable
    # instead: a BatchNormalization layer that is not trainable always runs in inference
    # mode, and with keep_batchnorm_frozen BN layers are never made trainable.
    x = build_backbone(size, weights_path)(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(config.regularization.dropout, seed=config.seed, name="dropout")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name="histoclass_resnet50")
    apply_l2(model, config.regularization.kernel_l2, config.regularization.bias_l2)
    set_trainable(model, "head", keep_batchnorm_frozen=config.keep_batchnorm_frozen)
    return model


def _first_layer_index(backbone: keras.Model, block: str) -> int:
    for index, layer in enumerate(backbone.layers):
        if layer.name.startswith(block + "_"):
            return index
    raise ConfigError(f"the backbone has no block named {block!r}")


def set_trainable(model: keras.Model, trainable: str, *, keep_batchnorm_frozen: bool = True) -> None:
    """Freeze or unfreeze the backbone for a stage; the head always trains.

    "head": backbone frozen. "all": everything trains. "from:<block>": that ResNet50
    block (see RESNET_BLOCKS) and all later ones train. With `keep_batchnorm_frozen`,
    BatchNormalization layers stay frozen after unfreezing, and a frozen BN layer runs in
    inference mode (ImageNet statistics kept, not wrecked by small histology batches).
    Without it, BN layers in the unfrozen blocks train and update their statistics.
    Recompile afterwards.
    """
    check_trainable(trainable)
    backbone = model.get_layer(BACKBONE_NAME)
    for layer in model.layers:
        if layer is not backbone:
            layer.trainable = True
    if trainable == "head":
        backbone.trainable = False
        return
    start = 0 if trainable == "all" else _first_layer_index(backbone, trainable[5:])
    backbone.trainable = True
    for index, layer in enumerate(backbone.layers):
        is_bn = isinstance(layer, layers.BatchNormalization)
        layer.trainable = index >= start and not (is_bn and keep_batchnorm_frozen)


def trainable_blocks(model: keras.Model) -> list[str]:
    """The ResNet50 blocks with at least one trainable weight (for tests and the GUI)."""
    backbone = model.get_layer(BACKBONE_NAME)
    if not backbone.trainable:
        return []
    names = [layer.name for layer in backbone.layers if layer.trainable_weights]
    return [b for b in RESNET_BLOCKS if any(n.startswith(b + "_") for n in names)]


def augment_preview(image: np.ndarray, augmentation: Augmentation, n: int, seed: int) -> list[np.ndarray]:
    """`n` augmented versions of one uint8 RGB image, as training would see them.

    Meant for small previews (a thumbnail): the image keeps its size.
    """
    if n < 1:
        return []
    batch = np.repeat(np.asarray(image, dtype=np.float32)[None], n, axis=0)
    layer = Augment(augmentation.flip, augmentation.rotation, augmentation.contrast, seed)
    x = layer(ops.convert_to_tensor(batch), training=True)
    out = np.clip(np.round(ops.convert_to_numpy(x)), 0, 255).astype(np.uint8)
    return list(out)


def gradcam(model: keras.Model, image: np.ndarray, class_index: int | None = None) -> np.ndarray:
    """Grad-CAM heatmap (H, W) in [0, 1] at the image's own size.

    Gradient of the chosen class's score (the logit, before softmax; the predicted class
    by default) with respect to the backbone's last conv block (conv5_block3_out),
    averaged per channel, weights that block's activations; ReLU, resize, scale to 1.
    """
    import tensorflow as tf

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"gradcam needs one (H, W, 3) RGB image, got shape {image.shape}")
    batch = tf.convert_to_tensor(image[None].astype(np.uint8))
    with tf.GradientTape() as tape:
        conv, logits = _conv_and_logits(model, batch, tape)
        if class_index is None:
            class_index = int(np.argmax(logits[0]))
        score = logits[:, class_index]
    grads = tape.gradient(score, conv)
    weights = tf.reduce_mean(tf.cast(grads, tf.float32), axis=(1, 2))  # (1, channels)
    cam = tf.nn.relu(tf.einsum("bhwc,bc->bhw", tf.cast(conv, tf.float32), weights))
    height, width = image.shape[:2]
    cam = tf.image.resize(cam[:, :, :, None], (height, width), method="bilinear")[0, :, :, 0]
    cam = np.maximum(cam.numpy(), 0.0)  # bilinear never undershoots, but stay exact at 0
    peak = float(cam.max())
    return (cam / peak if peak > 0 else cam).astype(np.float32)


def _conv_and_logits(model: keras.Model, batch, tape):
    """Run the model layer by layer (it is a chain), watching the backbone's output."""
    backbone = model.get_layer(BACKBONE_NAME)
    x, conv, logits = batch, None, None
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        x = layer(x, training=False)
        if layer is backbone:
            conv = x
            tape.watch(conv)
        elif layer.name == "logits":
            logits = x
    if conv is None or logits is None:
        raise ValueError("this model has no 'resnet50' backbone or no 'logits' layer")
    return conv, logits


def resize_for_model(image: np.ndarray, size: int) -> np.ndarray:
    """Resize one uint8 RGB image to size x size on the host (Pillow, antialiased bilinear).

    Matches the model's own "resize" layer to within one grey level, so callers that
    batch images of different sizes (prediction, the training cache) give the same answer
    as feeding the full image. Aspect ratio is not kept, exactly as in that layer.
    """
    from PIL import Image

    image = np.asarray(image, dtype=np.uint8)
    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR), dtype=np.uint8)
