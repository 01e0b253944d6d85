"""Work shared across processes and machines (PostgreSQL only): questions, nodes, rate budgets, credits.

- run_work: one row per shared run: what it asks (sources, depth, guards, the case file's text, so
  that a worker on another machine needs nothing but the store), and its heartbeat (a run whose
  heartbeat stopped and that is not closed is shown as crashed).
- work_nodes: the run's frontier: each node's depth, the new nodes its answers named ("fresh"), how many
  of them were followed (the per-pivot guards), and whether it was found to be shared infrastructure.
- work_questions: every question of the run, once: (run, source, query key) is unique, so two workers
  expanding two nodes with a lead in common enqueue its questions once. Workers lease them with
  SELECT ... FOR UPDATE SKIP LOCKED; a lease that expires (its worker died) is taken by another.
- rate_buckets: a token bucket per (source, server, egress address), taken atomically by
  osint_take_token(): workers that leave through one address share one budget.
- credits: API credits spent, per source, by the whole team (e.g. Shodan's query credits).

SQLite keeps its in-process engine: nothing is created there.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

from osint.store.types import BigId, JSONDoc, UTCTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TAKE_TOKEN = """
CREATE OR REPLACE FUNCTION osint_take_token(p_source text, p_server text, p_egress text, p_rate float8,
                                            p_burst float8, p_now float8 DEFAULT NULL) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
  t float8 := coalesce(p_now, extract(epoch FROM clock_timestamp()));
  b rate_buckets%ROWTYPE;
BEGIN
  INSERT INTO rate_buckets (source, server, egress, tokens, updated, paused_until, taken)
    VALUES (p_source, p_server, p_egress, p_burst, t, 0, 0) ON CONFLICT DO NOTHING;
  SELECT * INTO b FROM rate_buckets WHERE source = p_source AND server = p_server AND egress = p_egress FOR UPDATE;
  IF t < b.paused_until THEN
    RETURN b.paused_until - t;
  END IF;
  b.tokens := least(p_burst, b.tokens + greatest(0, t - b.updated) * p_rate);
  IF b.tokens >= 1 THEN
    UPDATE rate_buckets SET tokens = b.tokens - 1, updated = greatest(b.updated, t), taken = taken + 1
      WHERE source = p_source AND server = p_server AND egress = p_egress;
    RETURN 0;
  END IF;
  UPDATE rate_buckets SET tokens = b.tokens, updated = greatest(b.updated, t)
    WHERE source = p_source AND server = p_server AND egress = p_egress;
  RETURN (1 - b.tokens) / p_rate;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_table(
        "run_work",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("params", JSONDoc, nullable=False),
        sa.Column("heartbeat_at", UTCTime, nullable=False),
    )
    op.create_table(
        "work_nodes",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("node", sa.Text, primary_key=True),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("fresh", JSONDoc, nullable=False),  # the new nodes its answers named, in the order found
        sa.Column("followed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "work_questions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("node", sa.Text, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("query_key", sa.Text, nullable=False),
        sa.Column("query", JSONDoc, nullable=False),
        sa.Column("chain", sa.Integer, nullable=False, server_default="0"),
        sa.Column("state", sa.String(16), nullable=False, server_default="queued"),  # queued, leased, done
        sa.Column("lease_owner", sa.String(255)),
        sa.Column("lease_until", UTCTime),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("how", sa.String(16)),  # asked, cached, not_asked
        sa.Column("outcome", sa.String(32)),
        sa.Column("error", sa.Text),
        sa.Column("parse_failed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("done_by", sa.String(255)),
        sa.UniqueConstraint("run_id", "source", "query_key", name="uq_work_question"),
    )
    op.create_index("ix_work_claim", "work_questions", ["run_id", "state", "source", "id"])
    op.create_table(
        "rate_buckets",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("server", sa.Text, primary_key=True),
        sa.Column("egress", sa.String(64), primary_key=True),  # "" when the system chooses
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),  # seconds since the epoch, the database's clock
        sa.Column("paused_until", sa.Float, nullable=False),
        sa.Column("taken", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "credits",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("spent", sa.BigInteger, nullable=False),
    )
    op.execute(_TAKE_TOKEN)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION osint_take_token(text, text, text, float8, float8, float8)")
    for table in ("credits", "rate_buckets", "work_questions", "work_nodes", "run_work"):
        op.drop_table(table)
