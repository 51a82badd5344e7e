"""A technician in chat: grab offers, duty and binding, the job card and the steps behind its buttons."""
