"""Consultations and opinions."""

from consultations import bp


@bp.get("/")
def index():
    """List consultations."""
    return "index"


@bp.route("/consultations/new", methods=["GET", "POST"])
def new():
    """Create a consultation."""
    return "new"


@bp.get("/consultations/<int:consultation_id>")
def show(consultation_id: int):
    """Show a consultation."""
    return "show"
