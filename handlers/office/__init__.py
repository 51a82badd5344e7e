"""The property office in chat (supervisors, managers, customer service): assign, lists, tickets, follow-ups,
group chats."""
