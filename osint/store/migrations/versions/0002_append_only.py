"""Who ran each run, "newest" by observed time, and evidence the database itself keeps append-only.

- runs.db_user and runs.client_host: the database role and the machine that ran it.
- an index on (source, query_key, observed_at) for "newest observed answer per question".
- PostgreSQL: UPDATE and DELETE on observations and parses raise, whoever asks (a trigger, so not even
  the owner rewrites evidence by mistake); TRUNCATE is refused as well.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_FORBID = """
CREATE OR REPLACE FUNCTION osint_evidence_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'evidence is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("db_user", sa.String(128)))
        batch.add_column(sa.Column("client_host", sa.String(255)))
    op.create_index("ix_obs_newest", "observations", ["source", "query_key", "observed_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FORBID)
        for table in ("observations", "parses"):
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION osint_evidence_is_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION osint_evidence_is_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("observations", "parses"):
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION osint_evidence_is_append_only()")
    op.drop_index("ix_obs_newest", "observations")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("client_host")
        batch.drop_column("db_user")
