"""The resident's intake dialog (受理), one module per part of the request.

`flow` is the dialog (its diagram and the table of steps), `draft` the request being collected and how a step
says where to go next; `address`, `contact`, `fault`, `photos`, `window`, `technician` and `summary` hold the
steps; `entry` is the way in (the daily cap, resuming after /start).
"""
