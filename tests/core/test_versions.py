"""The versions room: a musl asked for (``--musl``) is a release or a series, said apart."""

from __future__ import annotations

import pytest

from muslwheel.versions import MuslVersion, MuslWanted


def test_musl_wanted_reads_a_release_or_a_series_and_nothing_else() -> None:
    assert (MuslWanted.parse("1.2").release, MuslWanted.parse("1.2").series) == (None, (1, 2))
    assert MuslWanted.parse("1.2.3").release == MuslVersion(1, 2, 3)
    assert [str(MuslWanted.parse(t)) for t in ("1.2", "1.2.3", " 1.1.24 ")] == ["1.2", "1.2.3", "1.1.24"]
    assert MuslWanted.exactly(MuslVersion(1, 2, 6)) == MuslWanted.parse("1.2.6")
    for text in ("1", "1.x.y", "1.2.3.4", "1.2.3-r0", "", "musl"):
        with pytest.raises(ValueError):
            MuslWanted.parse(text)
    series = MuslWanted.parse("1.2")
    assert series.admits(MuslVersion(1, 2, 6)) and not series.admits(MuslVersion(1, 3, 0))
    assert not MuslWanted.parse("1.2.3").admits(MuslVersion(1, 2, 4))
