"""Count, size and duration parsing and formatting (``archscale.units``): pure functions."""

from __future__ import annotations

import pytest

from archscale.errors import SpecError
from archscale.units import (format_bytes, format_count, format_seconds, format_shape,
                             parse_bytes, parse_count, parse_positive_float)


@pytest.mark.parametrize("text, expected", [
    ("200M", 200_000_000), ("4.1G", 4_100_000_000), ("4.1g", 4_100_000_000),
    ("2e6", 2_000_000), ("2_000_000", 2_000_000), ("1500000", 1_500_000), ("50k", 50_000),
    ("1.28M", 1_280_000), ("3B", 3_000_000_000), ("1T", 10**12), (" 12 ", 12),
    (".5K", 500), (7, 7), (2.0e3, 2000),
])
def test_parse_count(text, expected):
    assert parse_count(text, "--max-macs") == expected


@pytest.mark.parametrize("text", ["", "M", "12Q", "-5", "0", "0.1", "abc", "1..2M", "nan",
                                  "inf", "1e999", "2 GiB", True, None])
def test_parse_count_rejects(text):
    with pytest.raises(SpecError, match=r"--max-macs must be .*Received: --max-macs="):
        parse_count(text, "--max-macs")


@pytest.mark.parametrize("text, expected", [
    ("512MB", 512 * 10**6), ("2GiB", 2 * 2**30), ("2gib", 2 * 2**30), ("1.5G", int(1.5 * 2**30)),
    ("512M", 512 * 2**20), ("1048576", 2**20), ("64KiB", 65536), ("10kb", 10_000),
    ("3 GB", 3 * 10**9), ("100B", 100), ("1TiB", 2**40),
])
def test_parse_bytes(text, expected):
    assert parse_bytes(text, "--max-train-memory") == expected


@pytest.mark.parametrize("text", ["", "GiB", "2GiBs", "-1GB", "0", "0.4", "two GB", "1e400MB",
                                  "5 parsecs"])
def test_parse_bytes_rejects(text):
    with pytest.raises(SpecError, match=r"--max-train-memory must be a positive size"):
        parse_bytes(text, "--max-train-memory")


@pytest.mark.parametrize("text, expected", [("5", 5.0), ("0.25", 0.25), (" 12.5 ", 12.5)])
def test_parse_positive_float(text, expected):
    assert parse_positive_float(text, "--max-latency-ms") == expected


@pytest.mark.parametrize("text", ["0", "-1", "x", "nan", "inf", ""])
def test_parse_positive_float_rejects(text):
    with pytest.raises(SpecError, match="--max-latency-ms must be a positive number"):
        parse_positive_float(text, "--max-latency-ms")


@pytest.mark.parametrize("value, text", [(25_636_712, "25.6M"), (4.1e9, "4.1G"), (999, "999"),
                                         (1_000, "1K"), (0.5, "0.5")])
def test_format_count(value, text):
    assert format_count(value) == text


@pytest.mark.parametrize("value, text", [(2**31, "2 GiB"), (123456, "121 KiB"), (10, "10 B"),
                                         (3 * 2**20, "3 MiB")])
def test_format_bytes(value, text):
    assert format_bytes(value) == text


def test_round_trip_count_and_bytes():
    for value in (1, 999, 12_345, 4_100_000_000):
        assert parse_count(str(value)) == value
        assert parse_bytes(str(value)) == value


@pytest.mark.parametrize("value, text", [
    (0, "0"), (999, "999"), (1000, "1K"), (5210, "5.21K"), (25_636_712, "25.6M"),
    (3_857_973_248, "3.86G"), (999_960, "1M"), (-5210, "-5.21K"), (11_282_415_616, "11.3G"),
])
def test_format_count_rounds_across_suffixes(value, text):
    assert format_count(value) == text


@pytest.mark.parametrize("value, text", [
    (0, "0 B"), (1023, "1023 B"), (1024, "1 KiB"), (1_288_490_189, "1.2 GiB"),
    (102_546_848, "97.8 MiB"), (1_048_575, "1 MiB"), (1020 * 1024, "0.996 MiB"),
])
def test_format_bytes_rounds_across_units(value, text):
    assert format_bytes(value) == text


def test_format_seconds_and_shape():
    assert [format_seconds(s) for s in (None, 5, 75.2, 3725)] == ["?", "5s", "1m15s", "1h02m"]
    assert format_shape((32, 32, 3)) == "32x32x3"
    assert format_shape(None) == "-"
