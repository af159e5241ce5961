"""Several certificates per document: a batch scan is one file holding several.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

``certificates.document_id`` is no longer unique; ``ordinal`` (1, 2, ... in page order)
numbers a document's certificates, unique with the document.  Existing rows are each their
document's first.  SQLite cannot drop a constraint in place: batch mode copies the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("ordinal", sa.Integer(), nullable=False,
                                   server_default="1"))
        batch.drop_constraint("uq_certificates_document_id", type_="unique")
        batch.create_unique_constraint("uq_certificates_document_id_ordinal",
                                       ["document_id", "ordinal"])


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.drop_constraint("uq_certificates_document_id_ordinal", type_="unique")
        batch.create_unique_constraint("uq_certificates_document_id", ["document_id"])
        batch.drop_column("ordinal")
