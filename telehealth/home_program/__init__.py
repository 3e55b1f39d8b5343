"""The home exercise program a patient follows: today's exercises, done marks and session logs."""
