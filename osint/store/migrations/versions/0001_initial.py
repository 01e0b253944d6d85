"""The evidence store as it was before migrations: observations, parses, runs.

Stores created by osint before migrations existed hold exactly these tables; they are stamped with
this revision instead of running it.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from osint.store.types import BigId, JSONDoc, UTCTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "observations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("query_key", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("request", JSONDoc, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("observed_at", UTCTime, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("raw", sa.LargeBinary),
        sa.Column("raw_size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("meta", JSONDoc),
        sa.Column("tool_version", sa.String(32), nullable=False),
    )
    op.create_index("ix_obs_query", "observations", ["source", "query_key", "id"])
    op.create_index("ix_obs_subject", "observations", ["subject"])
    op.create_table(
        "parses",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("observation_id", sa.BigInteger, sa.ForeignKey("observations.id"), nullable=False),
        sa.Column("parser", sa.String(128), nullable=False),
        sa.Column("parsed", JSONDoc, nullable=False),
        sa.Column("created_at", UTCTime, nullable=False),
    )
    op.create_index("ix_parses_obs", "parses", ["observation_id", "id"])
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("started_at", UTCTime, nullable=False),
        sa.Column("finished_at", UTCTime),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("status", sa.String(32)),
        sa.Column("summary", JSONDoc),
    )


def downgrade() -> None:
    op.drop_table("runs")
    op.drop_table("parses")
    op.drop_table("observations")
