"""Fill the English catalogue: msgids are English, so each translation is its msgid.

Run by ``make update-translations`` so the English catalogue never has an empty entry.
"""

import sys

from babel.messages.pofile import read_po, write_po

path = sys.argv[1] if len(sys.argv) > 1 else "translations/en/LC_MESSAGES/messages.po"
with open(path, "rb") as fh:
    catalog = read_po(fh, locale="en")
for message in catalog:
    if not message.id:
        continue
    if isinstance(message.id, tuple):
        if not all(message.string):
            message.string = (message.id[0], message.id[1])
    elif not message.string:
        message.string = message.id
    message.flags.discard("fuzzy")
with open(path, "wb") as fh:
    write_po(fh, catalog, width=100, sort_output=True, omit_header=False)
