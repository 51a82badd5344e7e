"""Statements of the durable inbox (bot/inbox.py) written for one backend."""

from __future__ import annotations

from sqlalchemy import TextClause, text

# PostgreSQL: a batch of signed callbacks in one statement. Their nonces go into the event log (a nonce
# already there is a replayed request), and the events whose nonce was new, or who have none, into the
# inbox; both or neither, as a statement is atomic. The batch comes deduplicated (bot/inbox.py `_firsts`):
# a nonce or an event id appears once.
FRESH_INSERT: TextClause = text(
    """
    WITH arrival AS (
        SELECT * FROM unnest(
            CAST(:channels AS VARCHAR[]), CAST(:event_ids AS VARCHAR[]), CAST(:chat_keys AS VARCHAR[]),
            CAST(:payloads AS TEXT[]), CAST(:nonce_channels AS VARCHAR[]), CAST(:nonces AS VARCHAR[])
        ) AS a(channel, event_id, chat_key, payload, nonce_channel, nonce)
    ),
    fresh AS (
        INSERT INTO inbound_events (channel, event_id, received_at)
        SELECT nonce_channel, nonce, CAST(:now AS TIMESTAMP WITH TIME ZONE) FROM arrival WHERE nonce <> ''
        ON CONFLICT DO NOTHING
        RETURNING channel, event_id
    )
    INSERT INTO inbox (channel, event_id, chat_key, payload, received_at, lease_owner, lease_until, attempts)
    SELECT a.channel, a.event_id, a.chat_key, CAST(a.payload AS JSON), CAST(:now AS TIMESTAMP WITH TIME ZONE),
           :owner, CAST(:lease_until AS TIMESTAMP WITH TIME ZONE), 0
    FROM arrival AS a
    WHERE a.nonce = '' OR EXISTS (
        SELECT 1 FROM fresh AS f WHERE f.channel = a.nonce_channel AND f.event_id = a.nonce
    )
    ON CONFLICT DO NOTHING
    RETURNING id, channel, event_id
    """
)
