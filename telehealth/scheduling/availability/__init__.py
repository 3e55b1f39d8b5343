"""When therapists work: weekly hours, dated exceptions and clinic closures.

`rules` is pure (the weekly pattern, exceptions, expansion into UTC intervals); `service` reads
and changes them, one unit of work per call.
"""
