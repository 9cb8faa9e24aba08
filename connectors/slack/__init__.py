"""Slack connector: employees ask in DMs, mentions and `/helpdesk`; IT agents review in an agents channel."""
