"""Each role's home page: it gathers from accounts and scheduling, so it is a feature of its own."""
