"""resources, resource events, claims and metric data

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Only new tables: a 0002 database keeps every row it has.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "name"),
    )
    op.create_table(
        "resource_events",
        sa.Column("id", _BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("resource_events", schema=None) as batch_op:
        batch_op.create_index("ix_resource_events_kind_name_id", ["kind", "name", "id"])
    op.create_table(
        "claims",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "metric_data",
        sa.Column("id", _BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("namespace", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=250), nullable=False),
        sa.Column("dimensions", sa.String(length=1000), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("metric_data", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metric_data_series_time", ["namespace", "metric", "dimensions", "timestamp"]
        )


def downgrade() -> None:
    with op.batch_alter_table("metric_data", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_data_series_time")
    op.drop_table("metric_data")
    op.drop_table("claims")
    with op.batch_alter_table("resource_events", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_events_kind_name_id")
    op.drop_table("resource_events")
    op.drop_table("resources")
