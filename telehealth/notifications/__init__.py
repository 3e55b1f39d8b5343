"""Messages to people: an outbox written in the unit of work that causes a message, and a
dispatcher that sends what came due (email for now).

Features hand notifications finished messages (`outbox.NewMessage`); notifications import no feature.
"""
