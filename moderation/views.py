"""Moderation: the queue, hiding and restoring, answers."""

from moderation import bp


@bp.get("/")
def queue():
    """Show the moderation queue."""
    return "queue"
