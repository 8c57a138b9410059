"""Exports too heavy for a web request (the PDF, and more than ``EXPORT_INLINE_MAX`` opinions),
made by a background job into storage, with a progress page while they are made."""

from flask import Blueprint

bp = Blueprint("exportjobs", __name__)
