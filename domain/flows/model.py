"""The flow format: a scenario's steps as JSON, validated by these models.

A flow is a list of steps, each with an ``id`` and a ``type``; steps name the step that comes
after them (``next``), so a flow is a graph. Texts may name collected variables in braces:
``"A table for {party_size} on {when}"``. Structure is checked here (a draft must parse);
whether a flow can run (reachability, references, defaults, variables) is ``checks.problems``,
run when a version is published.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
LANGUAGES = ("en", "es", "fr", "de")
PROVIDERS = ("green_api", "whatsapp_cloud", "twilio_sms", "telegram", "email")

StepId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Variable = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Phrase = Annotated[str, Field(min_length=1, max_length=200)]
Language = Literal["en", "es", "fr", "de"]
ProviderName = Literal["green_api", "whatsapp_cloud", "twilio_sms", "telegram", "email"]


class FlowModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(FlowModel):
    """One answer of a choice: ``value`` is what is collected, ``label`` what the guest sees."""

    value: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    label: Annotated[str, Field(min_length=1, max_length=64)]
    synonyms: Annotated[list[Phrase], Field(max_length=20)] = []


class TextAnswer(FlowModel):
    kind: Literal["text"] = "text"
    min_length: Annotated[int, Field(ge=1, le=4000)] = 1
    max_length: Annotated[int, Field(ge=1, le=4000)] = 500


class NumberAnswer(FlowModel):
    kind: Literal["number"] = "number"
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False


class DateTimeAnswer(FlowModel):
    """A date and a time, read in the property's time zone ("tomorrow 19:30")."""

    kind: Literal["datetime"] = "datetime"
    future_only: bool = True
    max_days_ahead: Annotated[int, Field(ge=1, le=3650)] = 365
    # A bare time ("19:30") means today, or tomorrow once it has passed.
    default_time: Annotated[str, Field(pattern=r"^\d{2}:\d{2}$")] | None = None


class DateAnswer(FlowModel):
    kind: Literal["date"] = "date"
    future_only: bool = True
    max_days_ahead: Annotated[int, Field(ge=1, le=3650)] = 365


class TimeAnswer(FlowModel):
    kind: Literal["time"] = "time"


class ChoiceAnswer(FlowModel):
    kind: Literal["choice"] = "choice"
    options: Annotated[list[Option], Field(min_length=1, max_length=10)]


class PhoneAnswer(FlowModel):
    kind: Literal["phone"] = "phone"
    default_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None


class EmailAnswer(FlowModel):
    kind: Literal["email"] = "email"


class PartySizeAnswer(FlowModel):
    kind: Literal["party_size"] = "party_size"
    minimum: Annotated[int, Field(ge=1, le=1000)] = 1
    maximum: Annotated[int, Field(ge=1, le=1000)] = 20


Answer = Annotated[
    TextAnswer
    | NumberAnswer
    | DateTimeAnswer
    | DateAnswer
    | TimeAnswer
    | ChoiceAnswer
    | PhoneAnswer
    | EmailAnswer
    | PartySizeAnswer,
    Field(discriminator="kind"),
]

Scalar = str | int | float | bool


class Condition(FlowModel):
    """``variable op value``; ``set`` / ``not_set`` take no value, ``in`` takes a list."""

    variable: Variable
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "set", "not_set"] = "eq"
    value: Scalar | list[Scalar] | None = None


class Case(FlowModel):
    when: Annotated[list[Condition], Field(min_length=1, max_length=20)]  # all must hold
    next: StepId


class Step(FlowModel):
    id: StepId


class MessageStep(Step):
    type: Literal["message"] = "message"
    text: Text
    next: StepId


class AskStep(Step):
    """Ask, validate the answer, store it in ``variable``; after ``max_retries`` wrong answers
    the conversation goes to staff (or to ``on_exhausted``)."""

    type: Literal["ask"] = "ask"
    variable: Variable
    prompt: Text
    answer: Answer
    reprompt: Text | None = None
    max_retries: Annotated[int, Field(ge=0, le=10)] = 2
    next: StepId
    on_exhausted: StepId | None = None


class BranchStep(Step):
    """The first case whose conditions all hold decides; otherwise ``default``."""

    type: Literal["branch"] = "branch"
    cases: Annotated[list[Case], Field(min_length=1, max_length=50)]
    default: StepId | None = None


class SetStep(Step):
    type: Literal["set"] = "set"
    variable: Variable
    value: Scalar  # a string may name variables: "{first_name} {last_name}"
    next: StepId


class LookupStep(Step):
    """Look ``query`` up in the knowledge base; the answer goes to ``variable``. With no answer
    the flow goes on at ``not_found`` (or ``next``, the variable left unset)."""

    type: Literal["lookup"] = "lookup"
    query: Text
    variable: Variable
    next: StepId
    not_found: StepId | None = None


class RecordStep(Step):
    """Create a record from collected values: a ``table_booking`` becomes a reservation row
    (fields ``when``, ``party_size``, ``name``, optional ``phone``, ``email``, ``notes``)."""

    type: Literal["record"] = "record"
    record: Literal["table_booking"]
    fields: dict[Variable, Annotated[str, Field(min_length=1, max_length=500)]]
    next: StepId


class HandoffStep(Step):
    """Hand the conversation to staff: a staff notification carrying what was collected."""

    type: Literal["handoff"] = "handoff"
    reason: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = "dialog_handoff"
    message: Text | None = None
    urgent: bool = False


class EndStep(Step):
    type: Literal["end"] = "end"
    message: Text | None = None


AnyStep = Annotated[
    MessageStep | AskStep | BranchStep | SetStep | LookupStep | RecordStep | HandoffStep | EndStep,
    Field(discriminator="type"),
]


class Trigger(FlowModel):
    """Phrases that start the scenario (matched in the guest's text, case and accents aside),
    on the listed providers (none listed: every provider)."""

    phrases: Annotated[list[Phrase], Field(min_length=1, max_length=50)]
    providers: Annotated[list[ProviderName], Field(max_length=5)] = []


class Flow(FlowModel):
    """One version of a scenario's dialogue."""

    schema_version: Literal[1] = 1
    language: Language = "en"
    start: StepId
    steps: Annotated[list[AnyStep], Field(min_length=1, max_length=300)]
    triggers: Annotated[list[Trigger], Field(max_length=20)] = []
    timeout_minutes: Annotated[int, Field(ge=1, le=10080)] = 30
    timeout_message: Text | None = None
    cancel_message: Text | None = None
    handoff_message: Text | None = None

    def step(self, step_id: str) -> Any:
        """The step named ``step_id`` (KeyError if none)."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def json_schema() -> dict[str, Any]:
    """The flow format as a JSON Schema (draft 2020-12), as the API serves and the repository
    keeps it (``flow.schema.json``)."""
    schema = Flow.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:frontdesk:flow:1",
        **schema,
    }
