"""Incidents: one failure a whole building reports, worked once, with every reporter kept told."""
