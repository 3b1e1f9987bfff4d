"""The registry: SQLAlchemy models, sessions and repository functions.

Repository functions never commit: the caller owns the transaction.
"""
