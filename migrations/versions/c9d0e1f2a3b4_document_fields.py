"""what the documents print: the commune's contacts, the legal basis, the signer

The notice prints the commune's address, telephone and office hours (kept on the locality); the
record prints the "Căn cứ …" lines and the meetings held (kept on the consultation), the
signer's name and title (kept on the record), and a moderator's summary of the opinions an
answer covers (kept on the response).

Revision ID: c9d0e1f2a3b4
Revises: b8c9d0e1f2a3
Create Date: 2026-12-01 20:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c9d0e1f2a3b4"
down_revision = "b8c9d0e1f2a3"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite has dropped columns itself since 3.35): a batch
# copy of consultation would trip the foreign keys that point at it.
COLUMNS = [
    ("locality", sa.Column("address", sa.String(length=300), nullable=True)),
    ("locality", sa.Column("phone", sa.String(length=50), nullable=True)),
    ("locality", sa.Column("email", sa.String(length=200), nullable=True)),
    ("locality", sa.Column("office_hours", sa.String(length=300), nullable=True)),
    ("consultation", sa.Column("legal_basis", sa.Text(), nullable=False, server_default="")),
    ("consultation", sa.Column("meetings", sa.Text(), nullable=False, server_default="")),
    ("record", sa.Column("signer_name", sa.String(length=200), nullable=True)),
    ("record", sa.Column("signer_title", sa.String(length=200), nullable=True)),
    ("response", sa.Column("summary", sa.Text(), nullable=True)),
]


def upgrade():
    for table, column in COLUMNS:
        op.add_column(table, column)


def downgrade():
    for table, column in reversed(COLUMNS):
        op.drop_column(table, column.name)
