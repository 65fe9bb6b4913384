"""Windows that fit the screen they open on (a 1024x768 laptop panel included): each window
asks for the size it would like and gets what the screen's free area allows, and nothing in
it insists on more than that area (long choices in a combo box shorten; pages too tall
scroll).

Qt sizes a window to its layout's minimum, and a layout's minimum is its widest piece:
one combo box listing "Sample: Margaret Hale (“Megge”), while you are busy until 12:30"
made the settings window 1126 px wide whatever the screen."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QScrollArea,
    QWidget,
)

# Room a window manager's frame and a panel take around a window, kept free.
FRAME = QSize(16, 48)
TITLE_BAR = 32
# The characters a combo box shows at least; longer choices are elided, and the popup
# shows them whole.
COMBO_CHARS = 18


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Resize `window` to `width` x `height`, or to what its screen's available area holds
    (less a frame), and keep it inside that area."""
    screen = window.screen() or window.window().screen()
    if screen is None:
        window.resize(width, height)
        return
    area = screen.availableGeometry()
    size = QSize(min(width, area.width() - FRAME.width()),
                 min(height, area.height() - FRAME.height()))
    window.setMaximumSize(QSize(16777215, 16777215))
    window.resize(size.expandedTo(window.minimumSizeHint().boundedTo(size)))
    geometry = window.frameGeometry()
    x = min(max(geometry.x(), area.x()), area.right() - size.width() - FRAME.width() + 1)
    y = min(max(geometry.y(), area.y()), area.bottom() - size.height() - FRAME.height() + 1)
    if (x, y) != (geometry.x(), geometry.y()):
        window.move(max(x, area.x()), max(y, area.y()))


def keep_on_screen(window: QWidget) -> None:
    """Move `window` (a dialog Qt centred on its parent) so that it and its title bar lie
    inside the screen's available area; shrink it first if it cannot. For showEvent."""
    screen = window.screen()
    if screen is None:
        return
    area = screen.availableGeometry()
    top, bottom = TITLE_BAR, FRAME.height() - TITLE_BAR
    height = min(window.height(), area.height() - FRAME.height())
    width = min(window.width(), area.width() - FRAME.width())
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
    geometry = window.geometry()
    x = min(max(geometry.x(), area.x() + FRAME.width() // 2),
            area.right() - width - FRAME.width() // 2)
    y = min(max(geometry.y(), area.y() + top), area.bottom() - height - bottom)
    if (x, y) != (geometry.x(), geometry.y()):
        window.move(x - (geometry.x() - window.x()), y - (geometry.y() - window.y()))


def short_combos(root: QWidget, chars: int = COMBO_CHARS) -> None:
    """Every combo box under `root` asks for `chars` characters, not its longest choice."""
    for combo in root.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(chars)
        # An explicit minimum wins over the hint, which some styles still take from the
        # longest choice; the arrow and the frame take about 40 px.
        combo.setMinimumWidth(combo.fontMetrics().horizontalAdvance("x" * chars) + 40)


def placeholders_fit(root: QWidget, most: int = 420) -> None:
    """Every empty line edit under `root` wide enough for its placeholder (up to `most`
    px): a hint cut to "+49 30 1234567, or a cli" says less than none."""
    for edit in root.findChildren(QLineEdit):
        hint = edit.placeholderText()
        if hint:
            # The frame, the text margins and a clear button, if any.
            wanted = edit.fontMetrics().horizontalAdvance(hint) + 16 + (
                edit.height() if edit.isClearButtonEnabled() else 0)
            edit.setMinimumWidth(min(max(edit.minimumWidth(), wanted), most))


def headers_fit(view: QAbstractItemView) -> None:
    """Each column at least as wide as its header's text (a column that stretches keeps
    stretching): no "cknowledge goa"."""
    header = getattr(view, "horizontalHeader", None)
    header = header() if callable(header) else getattr(view, "header", lambda: None)()
    if not isinstance(header, QHeaderView):
        return
    header.setMinimumSectionSize(1)
    for section in range(header.count()):
        if header.sectionResizeMode(section) == QHeaderView.ResizeMode.Stretch:
            continue
        wanted = header.sectionSizeFromContents(section).width()
        if header.sectionSize(section) < wanted:
            header.resizeSection(section, wanted)


def scrolling(page: QWidget) -> QScrollArea:
    """`page` in a frameless scroll area: a page taller or wider than the window scrolls
    instead of growing the window past the screen."""
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area
