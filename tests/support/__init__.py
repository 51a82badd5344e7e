"""Helpers the tests share: the chat harness and journeys, the bots under test, processes, PostgreSQL."""
