"""Render Heard's icon (resources/icons/heard.svg) for the installers, with Qt's SVG renderer.

    python installers/icons.py [OUT]        # default OUT: build/icons

Writes OUT/hicolor/<N>x<N>/apps/heard.png (the freedesktop icon theme sizes), OUT/heard.ico
(Windows: PNG-compressed entries 16-256 px) and OUT/heard.iconset/ (macOS: `iconutil -c icns`
turns it into heard.icns). Needs only PySide6, which every build environment has.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icons" / "heard.svg"
HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# macOS iconset names: icon_<N>x<N>[@2x].png
ICONSET = {f"icon_{n}x{n}.png": n for n in (16, 32, 128, 256, 512)} | {
    f"icon_{n}x{n}@2x.png": 2 * n for n in (16, 32, 128, 256, 512)}


def render(size: int) -> bytes:
    """The icon as PNG bytes, `size` pixels square."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(QByteArray(SVG.read_bytes())).render(painter, QRectF(0, 0, size, size))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"could not encode the {size} px icon as PNG")
    buffer.close()
    return bytes(data.data())


def ico(images: dict[int, bytes]) -> bytes:
    """A Windows .ico holding PNG images (read by Windows Vista and later)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    entries, blobs = b"", b""
    offset = len(header) + 16 * len(images)
    for size, png in sorted(images.items()):
        side = 0 if size >= 256 else size   # 0 means 256
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return header + entries + blobs


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "build" / "icons"
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(["heard-icons"])  # noqa: F841
    pngs = {size: render(size) for size in sorted({*HICOLOR_SIZES, *ICO_SIZES, 1024})}
    for size in HICOLOR_SIZES:
        target = out / "hicolor" / f"{size}x{size}" / "apps" / "heard.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(pngs[size])
    (out / "heard.ico").write_bytes(ico({s: pngs[s] for s in ICO_SIZES}))
    iconset = out / "heard.iconset"
    iconset.mkdir(parents=True, exist_ok=True)
    for name, size in ICONSET.items():
        (iconset / name).write_bytes(pngs[size])
    print(f"icons in {out}: hicolor {', '.join(map(str, HICOLOR_SIZES))} px, heard.ico,"
          " heard.iconset/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
