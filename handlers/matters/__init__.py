"""A resident's matter (报事: complaint, suggestion, inquiry, praise), one module per part of the dialog.

`flow` is the dialog (its diagram and the table of steps), `draft` the matter being collected; `what` asks
the kind and the words (and explains what the office does not handle), `where` the department and any
photos or place, `who` whether it is about a member of staff and whether the resident stays anonymous,
`summary` files it.
"""
