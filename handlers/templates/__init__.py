"""Notice templates: what the domain wants said, as a message in its reader's language.

`view` is what a template gets, `render` turns a transaction's notices into messages; the other modules hold
the templates by the part of the loop they speak about. handlers/routes.py maps each notice kind to its
template.
"""
