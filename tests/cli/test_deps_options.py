"""The import proof's dependency options, as check and build read them (``cli.common.deps_options``)."""

from __future__ import annotations

import argparse

import pytest

from muslwheel.cli.common import deps_options
from muslwheel.errors import MuslwheelError


def namespace(**kw: object) -> argparse.Namespace:
    base: dict[str, object] = {"no_deps": False, "find_links": [], "extra": [], "no_index": False, "offline": False}
    return argparse.Namespace(**{**base, **kw})


def test_check_refuses_no_deps_with_offline_in_one_line() -> None:
    # check's --offline is about dependencies only: with --no-deps it asks for nothing
    with pytest.raises(MuslwheelError, match=r"^--no-deps installs no dependencies: .*--offline need"):
        deps_options(namespace(no_deps=True, offline=True))


def test_build_takes_no_deps_with_offline_since_its_offline_covers_the_library_sources() -> None:
    # build's --offline also keeps the --with libraries' sources to the download cache
    options = deps_options(namespace(no_deps=True, offline=True), offline_is_only_deps=False)
    assert options.resolve is False
    with pytest.raises(MuslwheelError, match=r"--find-links") as refused:
        deps_options(namespace(no_deps=True, offline=True, find_links=["x"]), offline_is_only_deps=False)
    assert "--offline" not in str(refused.value)
