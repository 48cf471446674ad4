"""Scrutiny of self-assessment returns: threads and their messages per criterion, named moderators per round,
and priority criteria per round (the follow-up list). Moderated ratings use the existing answers columns.

Revision ID: c9166808a1b4
Revises: 163a6e9a7b9e
Create Date: 2026-11-30 21:58:35.846733

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "c9166808a1b4"
down_revision = "163a6e9a7b9e"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "priority_criteria",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("question_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_priority_criteria_round_id_rounds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_priority_criteria")),
        sa.UniqueConstraint("round_id", "question_key", name=op.f("uq_priority_criteria_round_id_question_key")),
    )
    with op.batch_alter_table("priority_criteria", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_priority_criteria_round_id"), ["round_id"], unique=False)

    op.create_table(
        "round_moderators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"], name=op.f("fk_round_moderators_added_by_id_users")),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_round_moderators_round_id_rounds"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_round_moderators_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_moderators")),
        sa.UniqueConstraint("round_id", "user_id", name=op.f("uq_round_moderators_round_id_user_id")),
    )
    with op.batch_alter_table("round_moderators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_moderators_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_moderators_user_id"), ["user_id"], unique=False)

    op.create_table(
        "scrutiny_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("question_key", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "comment", "query", "more_evidence", name="kind", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum("open", "answered", "closed", name="state", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["closed_by_id"], ["users.id"], name=op.f("fk_scrutiny_threads_closed_by_id_users")),
        sa.ForeignKeyConstraint(["opened_by_id"], ["users.id"], name=op.f("fk_scrutiny_threads_opened_by_id_users")),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.id"], name=op.f("fk_scrutiny_threads_return_id_returns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scrutiny_threads")),
    )
    with op.batch_alter_table("scrutiny_threads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scrutiny_threads_return_id"), ["return_id"], unique=False)
        batch_op.create_index("ix_scrutiny_threads_return_question", ["return_id", "question_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_scrutiny_threads_state"), ["state"], unique=False)

    op.create_table(
        "scrutiny_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column(
            "side",
            sa.Enum("qa", "agency", name="side", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_scrutiny_messages_author_id_users")),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["scrutiny_threads.id"],
            name=op.f("fk_scrutiny_messages_thread_id_scrutiny_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scrutiny_messages")),
    )
    with op.batch_alter_table("scrutiny_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scrutiny_messages_thread_id"), ["thread_id"], unique=False)


def downgrade():
    with op.batch_alter_table("scrutiny_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scrutiny_messages_thread_id"))

    op.drop_table("scrutiny_messages")
    with op.batch_alter_table("scrutiny_threads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scrutiny_threads_state"))
        batch_op.drop_index("ix_scrutiny_threads_return_question")
        batch_op.drop_index(batch_op.f("ix_scrutiny_threads_return_id"))

    op.drop_table("scrutiny_threads")
    with op.batch_alter_table("round_moderators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_round_moderators_user_id"))
        batch_op.drop_index(batch_op.f("ix_round_moderators_round_id"))

    op.drop_table("round_moderators")
    with op.batch_alter_table("priority_criteria", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_priority_criteria_round_id"))

    op.drop_table("priority_criteria")
