"""The Olist contract agrees with itself and with the parser's silver types."""

from __future__ import annotations

from tasks.sources.olist.contract import COLUMN_RENAMES, OLIST_FILES, SOURCE_FILES, dataset_name
from tasks.sources.olist.parse import TYPES


def test_every_file_feeds_one_silver_dataset():
    assert sorted(SOURCE_FILES.values()) == sorted(OLIST_FILES)
    assert sorted(TYPES) == sorted(SOURCE_FILES)


def test_bronze_keeps_each_file_under_its_own_stem():
    bronze = {dataset_name(file) for file in OLIST_FILES}
    assert len(bronze) == len(OLIST_FILES)
    assert dataset_name(SOURCE_FILES["payments"]) == "order_payments"
    assert dataset_name(SOURCE_FILES["category_translation"]) == "category_translation"


def test_silver_types_cover_every_source_column_once_renamed():
    for dataset, file in SOURCE_FILES.items():
        renamed = [COLUMN_RENAMES.get(column, column) for column in OLIST_FILES[file]]
        assert list(TYPES[dataset]) == renamed
