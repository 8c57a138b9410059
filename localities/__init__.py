from flask import Blueprint

bp = Blueprint("localities", __name__)
