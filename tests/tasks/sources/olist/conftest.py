"""A generated Olist set per test module (`pristine`, which a module may override with its own
size) and a copy of it per test (`olist_dir`) that the test may break."""

from __future__ import annotations

import shutil

import pytest

from tasks.sources.olist.synthetic import generate_olist


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    directory = tmp_path_factory.mktemp("olist")
    generate_olist(directory, orders=500, seed=3)
    return directory


@pytest.fixture
def olist_dir(pristine, tmp_path):
    copy = tmp_path / "olist"
    shutil.copytree(pristine, copy)
    return copy
