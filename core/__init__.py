"""The platform's plumbing: configuration, Flask extensions, i18n, HTTP helpers, text and time."""
