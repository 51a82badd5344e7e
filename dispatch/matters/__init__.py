"""Matters (报事): complaints, suggestions, inquiries and praise, routed to a department and followed up.

`kinds` tells a matter's kind from the resident's words; `filing` files one and `routing` sends it to the
department's staff with its deadlines; `handling` is the department's side (accept, answer, hand to someone,
forward, mark handled, refuse) and the resident's confirmation; `conversion` turns a repair into a matter or
back, keeping the history. A matter is a ticket of kind "matter": it shares the numbering, the event log,
the timers and the outbox with repairs, and has its own transition table in `dispatch/lifecycle.py`.
"""
