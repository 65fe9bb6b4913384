import pytest

from heard.domain.urgency import Urgency
from heard.gui import badge
from tests.support.gui import share

# Text needs a QGuiApplication (fonts): every test here runs with pytest-qt's one.
pytestmark = pytest.mark.usefixtures("qapp")


def test_the_badge_is_coloured_by_urgency() -> None:
    for urgency, (fill, _ink) in badge.COLOURS.items():
        image = badge.paint(3, urgency, 64)
        assert share(image, fill) > 0.08, urgency
        others = [c for u, (c, _i) in badge.COLOURS.items() if u is not urgency]
        assert all(share(image, c) < 0.01 for c in others), urgency


def test_no_badge_when_nobody_waits() -> None:
    image = badge.paint(0, None, 64)
    assert all(share(image, fill) < 0.01 for fill, _ink in badge.COLOURS.values())
    assert share(image, "#1d4e89") > 0.2  # the mark itself is drawn from the SVG


def test_counts_over_99_read_99_plus() -> None:
    assert badge.badge_text(7) == "7"
    assert badge.badge_text(99) == "99"
    assert badge.badge_text(100) == "99+"
    wide = badge.paint(150, Urgency.OVERDUE, 64)
    narrow = badge.paint(5, Urgency.OVERDUE, 64)
    assert share(wide, "#c62828") > share(narrow, "#c62828")


def test_the_icon_has_sharp_pixmaps_for_every_tray_size() -> None:
    icon = badge.icon(2, Urgency.ON_TRACK)
    sizes = sorted(s.width() for s in icon.availableSizes())
    assert sizes == sorted(badge.SIZES)
