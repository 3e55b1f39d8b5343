"""Outcome measures: standard questionnaires scored by versioned rules, kept append-only."""
