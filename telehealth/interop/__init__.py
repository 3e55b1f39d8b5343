"""Exchange with other systems: the patient's record as FHIR R4, gathered from every feature that
holds part of it (notes, plans of care) without those features knowing one another."""
