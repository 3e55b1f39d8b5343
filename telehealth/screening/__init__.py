"""The free screening: red-flag triage of a new patient's intake and STarT Back stratification."""
