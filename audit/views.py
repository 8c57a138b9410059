"""The audit trail page for reviewers and admins."""

from audit import bp  # noqa: F401
