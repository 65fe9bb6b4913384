"""The tray icon: Heard's mark rendered from SVG, with a count badge painted on it."""

from __future__ import annotations

from importlib import resources

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from heard.domain.urgency import Urgency

# Fill and text colours that read on light and dark panels (the white ring separates
# the badge from any panel colour).
COLOURS: dict[Urgency, tuple[str, str]] = {
    Urgency.ON_TRACK: ("#2e7d32", "#ffffff"),
    Urgency.DUE_SOON: ("#f9a825", "#000000"),
    Urgency.OVERDUE: ("#c62828", "#ffffff"),
}
SIZES = (16, 22, 24, 32, 48, 64)

_svg: bytes | None = None


def _icon_svg() -> bytes:
    global _svg
    if _svg is None:
        _svg = resources.files("heard.resources").joinpath("icons/heard.svg").read_bytes()
    return _svg


def badge_text(count: int) -> str:
    return "99+" if count > 99 else str(count)


def paint(count: int, urgency: Urgency | None, size: int = 64, offline: bool = False
          ) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(QByteArray(_icon_svg())).render(painter, QRectF(0, 0, size, size))
    if offline:
        painter.setOpacity(0.45)
    if count > 0:
        fill, ink = COLOURS[urgency or Urgency.ON_TRACK]
        text = badge_text(count)
        diameter = size * (0.62 if len(text) == 1 else 0.72)
        width = diameter if len(text) == 1 else size * (0.6 + 0.16 * len(text))
        width = min(width, size)
        rect = QRectF(size - width, size - diameter, width, diameter)
        painter.setPen(QColor("#ffffff"))
        painter.setBrush(QColor(fill))
        painter.drawRoundedRect(rect, diameter / 2, diameter / 2)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(max(6, int(diameter * (0.72 if len(text) == 1 else 0.6))))
        painter.setFont(font)
        painter.setPen(QColor(ink))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return image


def icon(count: int, urgency: Urgency | None, offline: bool = False) -> QIcon:
    """A QIcon with a pixmap per common tray size, so it stays sharp on HiDPI panels."""
    result = QIcon()
    for size in SIZES:
        result.addPixmap(QPixmap.fromImage(paint(count, urgency, size, offline)))
    return result
