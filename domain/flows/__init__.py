"""Bot scenarios: the flow format, the checks that gate publishing, and the step engine."""

from domain.flows.checks import Problem, problems
from domain.flows.engine import Book, HandOff, Say, Session, Turn, answer, begin
from domain.flows.model import Flow, json_schema

__all__ = [
    "Book",
    "Flow",
    "HandOff",
    "Problem",
    "Say",
    "Session",
    "Turn",
    "answer",
    "begin",
    "json_schema",
    "problems",
]
