"""A resident outside intake: the menu and commands, their tickets (status, confirm, rate, cancel, notes)."""
