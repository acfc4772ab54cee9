"""The scheduler: scheduled messages that fall due become outbound messages, exactly once."""
