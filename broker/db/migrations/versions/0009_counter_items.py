"""suppliers' database, title and item reports (COUNTER DR, TR, IR): their items, and each report's harvest state

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

METRICS = ("total_item_requests", "unique_item_requests", "unique_title_requests", "total_item_investigations",
           "unique_item_investigations", "unique_title_investigations", "searches_regular", "searches_automated",
           "searches_federated", "limit_exceeded", "no_license")


def upgrade() -> None:
    op.create_table(
        "sushi_report_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.String(length=8), nullable=False),
        sa.Column("offered", sa.Boolean(), nullable=False),
        sa.Column("last_status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_harvest_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supplier_id", "report_id"),
    )
    with op.batch_alter_table("sushi_report_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sushi_report_states_supplier_id"), ["supplier_id"], unique=False)

    op.create_table(
        "counter_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("parent", sa.String(length=500), nullable=False),
        sa.Column("publisher", sa.String(length=300), nullable=False),
        sa.Column("platform", sa.String(length=200), nullable=False),
        sa.Column("identifiers", sa.Text(), nullable=False),
        sa.Column("data_types", sa.String(length=200), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=True) for name in METRICS),
        sa.ForeignKeyConstraint(["report_id"], ["counter_reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "item_key"),
    )
    with op.batch_alter_table("counter_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_counter_items_report_id"), ["report_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("counter_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_counter_items_report_id"))
    op.drop_table("counter_items")
    with op.batch_alter_table("sushi_report_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sushi_report_states_supplier_id"))
    op.drop_table("sushi_report_states")
