"""The process's room: Cofre's events and the automations that notify on them, log redaction,
the Prefect home and its noise, run loggers, and who started a run with what parameters."""
