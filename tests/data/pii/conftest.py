"""A synthetic customer table with known personal data and look-alikes that are not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from siklus.data import store_table

FIRST = ["John", "Siti", "Budi", "Mary-Jane", "Ahmad", "Dewi", "Carlos", "Anne", "Wei", "Putri"]
LAST = ["Smith", "Nurhaliza", "Santoso", "O'Neil", "Dahlan", "Lestari", "Garcia", "Müller"]


def luhn_digit(body: str) -> str:
    total = 0
    for i, char in enumerate(reversed(body)):
        d = int(char)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _card(rng: np.random.Generator, valid: bool) -> str:
    body = "4" + "".join(str(d) for d in rng.integers(0, 10, 14))
    check = luhn_digit(body)
    if not valid:
        check = str((int(check) + 1 + int(rng.integers(0, 9))) % 10)
    return body + check


def _phone(rng: np.random.Generator, k: int) -> str:
    a, b, c = rng.integers(100, 999), rng.integers(1000, 9999), rng.integers(1000, 9999)
    return [
        f"+62 812-{b}-{c}",
        f"0813{b}{c}",
        f"({a}) 555-{b}",
        f"+44 20 {b} {c}",
        f"+1{a}555{b}",
        f"021 {a} {b}",
    ][k % 6]


def _nik(rng: np.random.Generator) -> int:
    province = rng.choice([11, 31, 32, 33, 35, 51, 73])
    day = int(rng.integers(1, 29)) + (40 if rng.random() < 0.5 else 0)
    return int(
        f"{province}{rng.integers(1, 80):02d}{rng.integers(1, 40):02d}{day:02d}"
        f"{rng.integers(1, 13):02d}{rng.integers(50, 99):02d}{rng.integers(1, 9999):04d}"
    )


@pytest.fixture(scope="session")
def customers_frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 200
    email = pd.Series([f"user{k}@example.com" for k in range(n)], dtype=object)
    email[rng.random(n) < 0.1] = None
    note = pd.Series(rng.choice(["ok", "call back", "prefers e-mail", "vip"], n), dtype=object)
    note[:20] = [f"reach me at user{k}@example.com" for k in range(20)]
    v4 = [
        f"10.{rng.integers(0, 256)}.{rng.integers(0, 256)}.{rng.integers(1, 255)}" for _ in range(n)
    ]
    ip = [v4[k] if k % 10 < 7 else f"2001:db8::{k:x}" for k in range(n)]
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "full_name": [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(n)],
            "email": email,
            "phone": [_phone(rng, k) for k in range(n)],
            "card": [_card(rng, True) for _ in range(n)],
            "bad_card": [_card(rng, False) for _ in range(n)],
            "nik": [_nik(rng) for _ in range(n)],
            "ssn": [
                f"{rng.integers(1, 600):03d}-{rng.integers(1, 99):02d}-{rng.integers(1, 9999):04d}"
                for _ in range(n)
            ],
            "ip": ip,
            "order_id": [f"ORD-2024-{k:06d}" for k in range(n)],
            "invoice_no": [str(rng.integers(1_000_000_000, 9_999_999_999)) for _ in range(n)],
            "event_date": [str(d.date()) for d in pd.date_range("2024-01-01", periods=n)],
            "app_version": [".".join(str(p) for p in rng.integers(0, 99, 4)) for _ in range(n)],
            "product_name": [
                f"{rng.choice(['Blue', 'Red', 'Green'])} {rng.choice(['Widget', 'Gadget', 'Box'])}"
                for _ in range(n)
            ],
            "note": note,
            "amount": rng.uniform(1, 500, n),
        }
    )


@pytest.fixture
def customers(ctx, customers_frame):
    version, _ = store_table(
        ctx, pa.Table.from_pandas(customers_frame, preserve_index=False), "customers", source="test"
    )
    return version
