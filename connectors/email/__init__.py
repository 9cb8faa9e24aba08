"""Email channel: inbound SMTP server, conversion of raw mail, replies through an SMTP smarthost."""
