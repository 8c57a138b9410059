"""The resident's own space: opinions, account, personal data."""

from me import bp


@bp.get("/opinions")
def opinions():
    """List my opinions."""
    return "opinions"


@bp.get("/account")
def account():
    """Show my account."""
    return "account"


@bp.get("/privacy")
def privacy():
    """Explain how personal data is handled."""
    return "privacy"
