"""Text, date and PII steps against pandas, the re module and hashlib."""

from __future__ import annotations

import hashlib
import re

import pandas as pd
import pytest

from siklus.data.recipes import Step

# -- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (Step("trim", column="txt"), lambda df: df.assign(txt=df["txt"].str.strip())),
        (
            Step("trim", column="pair", characters="a0"),
            lambda df: df.assign(pair=df["pair"].str.strip("a0")),
        ),
        (Step("lower", column="txt"), lambda df: df.assign(txt=df["txt"].str.lower())),
        (
            Step("upper", columns=["txt", "cat"]),
            lambda df: df.assign(txt=df["txt"].str.upper(), cat=df["cat"].str.upper()),
        ),
        (
            Step("regex_replace", column="txt", pattern=r"\s+", replacement=" "),
            lambda df: df.assign(txt=df["txt"].str.replace(r"\s+", " ", regex=True)),
        ),
        (
            Step(
                "regex_replace",
                column="txt",
                pattern=r"(\w+)-(\w+)",
                replacement=r"\2+\1",
                suffix="_swapped",
            ),
            lambda df: df.assign(
                txt_swapped=df["txt"].str.replace(r"(\w+)-(\w+)", r"\2+\1", regex=True)
            ),
        ),
        (
            Step("regex_extract", column="pair", pattern=r"(\d+)$", group=1, into="last"),
            lambda df: df.assign(last=df["pair"].str.extract(r"(\d+)$", expand=False)),
        ),
        (
            Step("regex_extract", column="txt", pattern=r"[A-Z]{3}", into="caps"),
            lambda df: df.assign(caps=df["txt"].str.extract(r"([A-Z]{3})", expand=False)),
        ),
        (
            Step("split", column="pair", separator=",", into=["letter", "mod", "i"]),
            lambda df: df.assign(
                letter=df["pair"].str.split(",").str[0],
                mod=df["pair"].str.split(",").str[1],
                i=df["pair"].str.split(",").str[2],
            ),
        ),
        (
            Step("split", column="pair", separator=",", into=["letter"], keep_original=False),
            lambda df: df.drop(columns=["pair"]).assign(letter=df["pair"].str.split(",").str[0]),
        ),
        (
            Step("substring", column="txt", start=1, length=3),
            lambda df: df.assign(txt=df["txt"].str[1:4]),
        ),
        (Step("substring", column="txt", start=2), lambda df: df.assign(txt=df["txt"].str[2:])),
        (
            Step("length", columns=["txt", "cat"]),
            lambda df: df.assign(
                txt_length=df["txt"].str.len(), cat_length=df["cat"].str.len().astype("Int64")
            ),
        ),
    ],
)
def test_text(run, same, frame, step, expected):
    same(run(frame, step), expected(frame))


# -- dates ----------------------------------------------------------------------------------

PARTS = ["year", "quarter", "month", "week", "day", "dayofyear", "dow", "hour", "minute", "second"]


def _pandas_part(values: pd.Series, part: str) -> pd.Series:
    dt = pd.to_datetime(values).dt
    if part == "week":
        return dt.isocalendar().week.astype(int)
    return getattr(dt, {"dow": "day_of_week", "dayofyear": "day_of_year"}.get(part, part))


def test_date_parts_of_timestamps(run, same, frame):
    out = run(frame, Step("date_parts", column="ts", parts=PARTS))
    same(out, frame.assign(**{f"ts_{p}": _pandas_part(frame["ts"], p) for p in PARTS}))


def test_date_parts_of_dates_with_prefix(run, same, frame):
    out = run(frame, Step("date_parts", column="day", parts=["year", "dow", "week"], prefix="d"))
    same(
        out,
        frame.assign(**{f"d_{p}": _pandas_part(frame["day"], p) for p in ["year", "dow", "week"]}),
    )


def test_parse_datetime(run, same, frame):
    out = run(frame, Step("parse_datetime", column="ts_text", format="%Y-%m-%d %H:%M"))
    same(out, frame.assign(ts_text=pd.to_datetime(frame["ts_text"], format="%Y-%m-%d %H:%M")))
    bad = frame.assign(ts_text=frame["ts_text"].where(frame.index % 4 > 0, "not a date"))
    nulled = run(
        bad, Step("parse_datetime", column="ts_text", format="%Y-%m-%d %H:%M", on_error="null")
    )
    expected = pd.to_datetime(bad["ts_text"], format="%Y-%m-%d %H:%M", errors="coerce")
    same(nulled, bad.assign(ts_text=expected))


@pytest.mark.parametrize("unit", ["week", "day", "hour", "minute", "second"])
def test_date_diff_counts_whole_units(run, same, frame, unit):
    df = frame.assign(end=frame["ts"] + pd.to_timedelta(frame["order"] * 7919, unit="min"))
    out = run(df, Step("date_diff", start="ts", end="end", unit=unit, into="gap"))
    step = pd.Timedelta(**{f"{unit}s": 1})
    same(out, df.assign(gap=(df["end"] - df["ts"]) // step))


@pytest.mark.parametrize(
    ("unit", "period"),
    [("year", "Y"), ("quarter", "Q"), ("month", "M"), ("week", "W-SUN"), ("day", "D")],
)
def test_date_trunc(run, same, frame, unit, period):
    out = run(frame, Step("date_trunc", columns=["ts", "day"], unit=unit))
    day = pd.to_datetime(frame["day"]).dt.to_period(period).dt.start_time.dt.date
    same(out, frame.assign(ts=frame["ts"].dt.to_period(period).dt.start_time, day=day))


def test_date_trunc_hour(run, same, frame):
    same(
        run(frame, Step("date_trunc", column="ts", unit="hour")),
        frame.assign(ts=frame["ts"].dt.floor("h")),
    )


# -- PII --------------------------------------------------------------------------------------


def _mask(value: object, first: int, last: int, char: str) -> object:
    if pd.isna(value):
        return None
    text = str(value)
    if len(text) <= first + last:
        return char * len(text)
    return text[:first] + char * (len(text) - first - last) + text[len(text) - last :]


@pytest.mark.parametrize(("first", "last"), [(0, 4), (2, 2), (0, 0)])
def test_mask(run, same, frame, first, last):
    out = run(
        frame,
        Step("mask", columns=["contact", "cat", "int"], keep_first=first, keep_last=last, char="#"),
    )
    expected = frame.assign(
        **{
            c: frame[c].astype(object).map(lambda v: _mask(v, first, last, "#"))
            for c in ["contact", "cat", "int"]
        }
    )
    same(out, expected)


def test_hash_is_salted_sha256(run, same, frame, monkeypatch):
    def digest(value: object, salt: str) -> object:
        return None if pd.isna(value) else hashlib.sha256((salt + str(value)).encode()).hexdigest()

    out = run(frame, Step("hash", columns=["cat", "int"], salt="pepper"))
    same(
        out,
        frame.assign(
            **{
                c: frame[c].astype(object).map(lambda v: digest(v, "pepper"))
                for c in ["cat", "int"]
            }
        ),
    )
    monkeypatch.setenv("RECIPE_TEST_SALT", "s3cret")
    short = run(frame, Step("hash", column="grp", salt_env="RECIPE_TEST_SALT", length=16))
    same(short, frame.assign(grp=frame["grp"].map(lambda v: digest(v, "s3cret")[:16])))


def test_redact(run, same, frame):
    from siklus.data.recipes._steps.pii import REDACTIONS

    def redact(text: str) -> str:
        for pattern, tag in REDACTIONS.values():
            text = re.sub(pattern, tag, text)
        return text

    out = run(frame, Step("redact", column="contact"))
    same(out, frame.assign(contact=frame["contact"].map(redact)))
    assert set(out["contact"]) == {
        "mail [EMAIL] now",
        "call [PHONE] today",
        "ip [IP] seen",
        "card [CARD] used",
        "nothing here",
    }
    only_mail = run(frame, Step("redact", column="contact", kinds=["email"]))
    assert "call +31 20 123 4567 today" in set(only_mail["contact"])
