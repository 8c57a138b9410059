"""The baseline: a bare Flask app served by the same gunicorn settings as Góp ý."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """Answer with a fixed word."""
    return "hello"
