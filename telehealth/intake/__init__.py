"""A new patient's intake before the free screening: red-flag triage, STarT Back stratification
and the screening questions' pages."""
