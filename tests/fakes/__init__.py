"""Local stand-ins of external services, reachable over real HTTP."""
