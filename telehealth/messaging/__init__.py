"""Messages to people: an outbox written in the unit of work that causes a message, and a
dispatcher that sends what came due (email for now).

Features hand messaging finished messages (`outbox.NewMessage`); messaging imports no feature.
"""
