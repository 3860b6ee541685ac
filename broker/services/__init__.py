"""Use cases shared by the CLI, the web pages and the API.

Each function takes the Runtime and an open SQLAlchemy session, validates its
input (InvalidInput / NotFound / Conflict, nothing written) and records the
audit trail of staff actions.
"""
