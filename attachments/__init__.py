from flask import Blueprint

bp = Blueprint("attachments", __name__)
