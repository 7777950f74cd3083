"""Every write of the emergency app: warnings, call-outs, answers, check-ins and helpers."""
