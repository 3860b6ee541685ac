"""persons: several library cards that suppliers see as one person

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('persons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seed_patron_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['seed_patron_id'], ['patrons.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('person_cards',
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('linked_by', sa.String(length=254), nullable=False),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], ),
    sa.PrimaryKeyConstraint('patron_id')
    )
    with op.batch_alter_table('person_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_cards_person_id'), ['person_id'], unique=False)

    op.create_table('person_subjects',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('sector', sa.String(length=200), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('contested', sa.Boolean(), nullable=False),
    sa.Column('chosen_by', sa.String(length=16), nullable=False),
    sa.Column('chosen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], ),
    sa.PrimaryKeyConstraint('person_id', 'sector')
    )
    with op.batch_alter_table('person_subjects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_subjects_patron_id'), ['patron_id'], unique=False)

    op.create_table('person_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('person_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_events_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('person_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_events_person_id'))
    op.drop_table('person_events')
    with op.batch_alter_table('person_subjects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_subjects_patron_id'))
    op.drop_table('person_subjects')
    with op.batch_alter_table('person_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_cards_person_id'))
    op.drop_table('person_cards')
    op.drop_table('persons')
