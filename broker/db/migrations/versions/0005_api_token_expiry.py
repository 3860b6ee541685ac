"""API tokens expire: expiry time and the date the owner was warned

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 05:00:00
"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: tokens created before this revision expire this long after the upgrade (nothing stops at once)
EXISTING_TOKENS_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('expiry_warned_at', sa.DateTime(timezone=True), nullable=True))
    op.get_bind().execute(sa.text("UPDATE api_tokens SET expires_at = :at WHERE expires_at IS NULL"),
                          {"at": datetime.now(timezone.utc) + timedelta(days=EXISTING_TOKENS_DAYS)})
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expiry_warned_at')
        batch_op.drop_column('expires_at')
