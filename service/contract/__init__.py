"""Pydantic models of the platform's payloads: the contract's single source of truth."""
