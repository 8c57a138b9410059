"""Accounts: register, verify, log in and out, reset a password, choose a language."""

from auth import bp


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in."""
    return "login"


@bp.post("/logout")
def logout():
    """Log out."""
    return "logout"


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Register."""
    return "register"


@bp.post("/language")
def set_language():
    """Choose the language."""
    return "lang"
