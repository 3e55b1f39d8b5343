"""Visit notes: content rules, billing units, canonical hashing, patient summary, FHIR mapping."""
