"""Who an opinion is shown as: the one place that decides (pages, API, /track, staff views).

Law 91/2025/QH15 and Decree 13/2023/NĐ-CP: a name is personal data and is public only with the
person's consent. A resident chooses a display name for the public (by default "Người dân",
never their residence). A person who gave an opinion offline (paper ballot, meeting, telephone…)
never registered and never consented online: the public sees the channel and the village, and
the name only when the official ticked, on the offline-opinion form, that the person agreed to
be named (``Opinion.contributor_name_public``). The staff always see the name.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from consultations.labels import CHANNELS


def public_author(opinion: Any) -> str:
    """The author as anyone may see them, in the language of the request."""
    if opinion.author is not None:
        return opinion.author.display_name or ""
    if opinion.contributor_name_public and opinion.contributor_name:
        return opinion.contributor_name
    channel = str(CHANNELS.get(opinion.channel, ""))
    village = opinion.locality.name if opinion.locality is not None else ""
    if channel and village:
        return _("%(channel)s, %(village)s", channel=channel, village=village)
    return channel or village


def staff_author(opinion: Any) -> str:
    """The author as the staff of the consultation see them: the offline contributor's name."""
    if opinion.author is not None:
        return opinion.author.display_name or ""
    return opinion.contributor_name or ""
