"""Actions carried out for the core's `ActionRunner` port: declared in `actions.yml` and called over HTTP,
written as Python functions registered by entry point, or served by a rasa-sdk action server."""
