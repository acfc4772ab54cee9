"""The labelled guest messages ``frontdesk eval`` scores (package data, so installs carry it)."""
