"""The slide canvas: a QGraphicsView with smooth zoom (wheel, pinch, buttons), pan and overlays.

The slide is drawn straight from a QImage built on the worker thread, painting only the
exposed part, so even a very large image needs no GUI-thread conversion to QPixmap.
Overlays (Grad-CAM heatmap, tile probability map) are further image items stacked above
it, each with its own opacity and scale (a tile map is coarser than the slide).
"""
from __future__ import annotations

import math

from PySide6.QtCore import QEasingCurve, QEvent, QPointF, QRectF, Qt, QVariantAnimation, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView, QPinchGesture

MIN_ZOOM, MAX_ZOOM = 0.01, 40.0
WHEEL_STEP = 1.25  # zoom factor for one notch (120 units) of a mouse wheel
BUTTON_STEP = 1.5
ANIMATION_MS = 160


class ImageItem(QGraphicsItem):
    """Draws a QImage, only the exposed part, from the pyramid level that suits the zoom."""

    def __init__(self, image: QImage, *, smooth: bool = True, levels: list[QImage] | None = None,
                 owner: object = None, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.image = image
        self.levels = levels or [image]  # the image, then halves of it (see viewer_jobs)
        self.owner = owner  # whatever holds the pixel buffers the images wrap, kept alive here
        self.smooth = smooth
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return QRectF(0, 0, self.image.width(), self.image.height())

    def level_for(self, scale: float) -> int:
        """The coarsest level that still has at least one pixel per screen pixel."""
        if scale <= 0 or len(self.levels) == 1:
            return 0
        return max(0, min(len(self.levels) - 1, int(math.floor(math.log2(1.0 / scale)))))

    def paint(self, painter: QPainter, option, widget=None) -> None:
        exposed = option.exposedRect.intersected(self.boundingRect())
        if exposed.isEmpty():
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
        level = self.level_for(painter.worldTransform().m11())
        factor = 2 ** level
        target = QRectF(exposed.toAlignedRect())
        source = QRectF(target.x() / factor, target.y() / factor, target.width() / factor,
                        target.height() / factor)
        painter.drawImage(target, self.levels[level], source)


class SlideCanvas(QGraphicsView):
    """Zoomable, pannable view of one slide and its overlays."""

    zoom_changed = Signal(float)  # the scale: 1.0 = one image pixel per screen pixel

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setBackgroundBrush(self.palette().color(QPalette.ColorRole.Dark))
        self.setAcceptDrops(False)  # drops go to the viewer, which knows what to open
        self.viewport().setAcceptDrops(False)
        self.viewport().grabGesture(Qt.GestureType.PinchGesture)
        self.placeholder = "Drop slide images or a folder here, or use Open."
        self._image_item: ImageItem | None = None
        self._overlays: dict[str, ImageItem] = {}
        self._fit_mode = True
        self._animation = QVariantAnimation(self)
        self._animation.setDuration(ANIMATION_MS)
        self._animation.setEasingCurve(QEasingCurve.Type.OutCubic)
        self._animation.valueChanged.connect(self._apply_animated_zoom)

    # -- content -------------------------------------------------------------------------
    def set_image(self, image: QImage | None, levels: list[QImage] | None = None,
                  owner: object = None) -> None:
        """Show a new slide (or nothing); overlays belong to the old one and are removed.

        `levels`: the image then halves of it, built off the GUI thread, so that a large
        slide zoomed out paints from a level near the screen's scale (painting an
        8000x6000 slide from full resolution takes a third of a second per repaint).
        `owner`: the object that holds the buffers the images wrap, if they do not own them.
        """
        self._animation.stop()
        self.scene().clear()
        self._overlays.clear()
        self._image_item = None
        if image is None or image.isNull():
            self.scene().setSceneRect(QRectF())
            self.viewport().update()
            return
        self._image_item = ImageItem(image, levels=levels, owner=owner)
        self._image_item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        self.scene().addItem(self._image_item)
        self.scene().setSceneRect(self._image_item.boundingRect())
        self.fit()

    @property
    def has_image(self) -> bool:
        return self._image_item is not None

    @property
    def image_size(self) -> tuple[int, int]:
        if self._image_item is None:
            return (0, 0)
        return (self._image_item.image.width(), self._image_item.image.height())

    def set_overlay(self, name: str, image: QImage | None, *, scale: float = 1.0,
                    smooth: bool = True, opacity: float = 0.5) -> None:
        """Lay `image` over the slide, stretched by `scale`; None removes the overlay."""
        old = self._overlays.pop(name, None)
        if old is not None:
            self.scene().removeItem(old)
        if image is None or image.isNull() or self._image_item is None:
            return
        # A child of the slide, which clips it: a coarse map's last cell may overshoot the edge.
        item = ImageItem(image, smooth=smooth, parent=self._image_item)
        item.setScale(scale)
        item.setOpacity(opacity)
        item.setZValue(1 + len(self._overlays))
        self._overlays[name] = item

    def overlay(self, name: str) -> ImageItem | None:
        return self._overlays.get(name)

    def set_overlay_opacity(self, name: str, opacity: float) -> None:
        item = self._overlays.get(name)
        if item is not None:
            item.setOpacity(max(0.0, min(1.0, opacity)))

    def set_overlay_visible(self, name: str, visible: bool) -> None:
        item = self._overlays.get(name)
        if item is not None:
            item.setVisible(visible)

    # -- zoom ----------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        """Fit the whole slide in the view; stays fitted while the window is resized."""
        self._fit_mode = True
        if self._image_item is None:
            return
        self._animation.stop()
        # The size without scroll bars: fitInView measures the viewport as it is, so a
        # zoomed-in view (scroll bars shown) would fit a little too small.
        available = self.maximumViewportSize()
        rect = self._image_item.boundingRect()
        scale = min(available.width() / rect.width(), available.height() / rect.height())
        self.setTransform(QTransform.fromScale(scale, scale))
        self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom)

    def actual_size(self) -> None:
        self.zoom_to(1.0, animated=True)

    def zoom_in(self) -> None:
        self.zoom_to(self._target_zoom() * BUTTON_STEP, animated=True)

    def zoom_out(self) -> None:
        self.zoom_to(self._target_zoom() / BUTTON_STEP, animated=True)

    def zoom_to(self, scale: float, *, animated: bool = False) -> None:
        """Set the scale about the view's centre, optionally eased over a few frames."""
        if self._image_item is None:
            return
        self._fit_mode = False
        scale = max(MIN_ZOOM, min(MAX_ZOOM, scale))
        self._animation.stop()
        if not animated:
            self._set_scale(scale, None)
            return
        self._animation.setStartValue(float(self.zoom))
        self._animation.setEndValue(float(scale))
        self._animation.start()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Multiply the scale by `factor`, keeping the scene point under `anchor` still."""
        if self._image_item is None or factor <= 0:
            return
        self._fit_mode = False
        self._animation.stop()
        self._set_scale(max(MIN_ZOOM, min(MAX_ZOOM, self.zoom * factor)), anchor)

    def _target_zoom(self) -> float:
        if self._animation.state() == QVariantAnimation.State.Running:
            return float(self._animation.endValue())
        return self.zoom

    def _apply_animated_zoom(self, value) -> None:
        self._set_scale(float(value), None)

    def _set_scale(self, scale: float, anchor: QPointF | None) -> None:
        # Keep the scene point under the anchor still by scrolling after the scale; Qt's
        # AnchorUnderMouse reads the cursor, which a pinch centre or a test does not move.
        anchor_view = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        scene_point = self.mapToScene(anchor_view.toPoint())
        self.setTransform(QTransform.fromScale(scale, scale))
        moved = self.mapFromScene(scene_point) - anchor_view.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + moved.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())
        self.zoom_changed.emit(self.zoom)

    # -- input ---------------------------------------------------------------------------
    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta or self._image_item is None:
            event.ignore()
            return
        # Proportional to the delta, so a high-resolution wheel or trackpad zooms smoothly.
        self.zoom_by(math.pow(WHEEL_STEP, delta / 120.0), event.position())
        event.accept()

    def viewportEvent(self, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.NativeGesture:
            if event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
                self.zoom_by(1.0 + event.value(), event.position())
                return True
        if event.type() == QEvent.Type.Gesture:
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if isinstance(pinch, QPinchGesture):
                centre = self.viewport().mapFromGlobal(pinch.centerPoint().toPoint())
                self.zoom_by(pinch.scaleFactor(), QPointF(centre))
                return True
        return super().viewportEvent(event)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 - Qt API
        if self._image_item is not None:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor(self.palette().color(QPalette.ColorRole.BrightText)))
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
        painter.restore()
