"""criterion evidence, settings' reference numbers, improvement actions

- criterion_evidence: links (http/https, with a title) and files an agency attaches to a criterion (question
  key) of its return (rounds.evidence).
- partnership_agencies.reference_number: a setting's official number (URN, Ofsted number), unique per
  partnership where given; matched by the settings CSV import; and contact_email, its contact ("" for none).
- recommendations.return_id: the one recommendation per self-assessment return that holds the agency's own
  improvement actions; actions.question_key: the criterion an improvement action answers ("" for none).

Revision ID: 717cb3121e80
Revises: 0065e682a3ef
Create Date: 2026-11-30 22:01:24.524777

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "717cb3121e80"
down_revision = "0065e682a3ef"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "criterion_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("question_key", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("link", "file", name="kind", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("stored_file_id", sa.Integer(), nullable=True),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("carried_forward", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind != 'file' OR stored_file_id IS NOT NULL", name=op.f("ck_criterion_evidence_file_has_file")
        ),
        sa.CheckConstraint(
            "kind != 'link' OR (url != '' AND title != '')", name=op.f("ck_criterion_evidence_link_has_url_and_title")
        ),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"], name=op.f("fk_criterion_evidence_added_by_id_users")),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.id"], name=op.f("fk_criterion_evidence_return_id_returns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["stored_file_id"], ["stored_files.id"], name=op.f("fk_criterion_evidence_stored_file_id_stored_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criterion_evidence")),
    )
    with op.batch_alter_table("criterion_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_criterion_evidence_return_id"), ["return_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_criterion_evidence_stored_file_id"), ["stored_file_id"], unique=False)

    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("question_key", sa.String(length=64), server_default="", nullable=False))

    with op.batch_alter_table("partnership_agencies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference_number", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("contact_email", sa.String(length=320), server_default="", nullable=False))
        batch_op.create_unique_constraint(
            batch_op.f("uq_partnership_agencies_partnership_id_reference_number"),
            ["partnership_id", "reference_number"],
        )

    with op.batch_alter_table("recommendations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_recommendations_return_id"), ["return_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_recommendations_return_id_returns"), "returns", ["return_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("recommendations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_recommendations_return_id_returns"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_recommendations_return_id"), type_="unique")
        batch_op.drop_column("return_id")

    with op.batch_alter_table("partnership_agencies", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_partnership_agencies_partnership_id_reference_number"), type_="unique")
        batch_op.drop_column("reference_number")
        batch_op.drop_column("contact_email")

    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_column("question_key")

    with op.batch_alter_table("criterion_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_criterion_evidence_stored_file_id"))
        batch_op.drop_index(batch_op.f("ix_criterion_evidence_return_id"))

    op.drop_table("criterion_evidence")
