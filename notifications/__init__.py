"""Following consultations and localities, the notifications of what happened to them, each
person's choices of how to hear of it (instant, daily, weekly, off), digests and unsubscribing."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)
