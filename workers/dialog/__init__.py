"""Bot dialogues at run time: the responder autoreply delegates to, and the flow simulator."""
