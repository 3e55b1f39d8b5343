"""Episodes of care and their plans: goals, frequency and duration, certification, the
progress-report clock, the therapist's caseload and the patient's plan in plain words."""
