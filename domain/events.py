"""Events that cross process boundaries: past tense, immutable, versioned by their type name.

Every event carries an ``event_id`` (the consumers' inbox key), the ``tenant_id`` it belongs to
and a ``type`` that doubles as its routing key on the topic exchange.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


def utcnow() -> datetime:
    return datetime.now(UTC)


class Provider(StrEnum):
    GREEN_API = "green_api"
    WHATSAPP_CLOUD = "whatsapp_cloud"
    TWILIO_SMS = "twilio_sms"
    TELEGRAM = "telegram"
    EMAIL = "email"


class ContentType(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    LOCATION = "location"
    CONTACT = "contact"
    TEMPLATE = "template"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class SentimentLabel(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class Event(BaseModel):
    """Base of every event. Subclasses set ``type`` as a ``Literal`` and ``routing_key``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    routing_key: ClassVar[str]

    event_id: UUID = Field(default_factory=uuid4)
    tenant_id: UUID
    occurred_at: datetime = Field(default_factory=utcnow)


class Media(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    mime_type: str | None = None
    file_name: str | None = None
    caption: str | None = None
    size_bytes: int | None = Field(default=None, ge=0)


class Location(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    phones: tuple[str, ...] = ()


# Dedup keys and handles are indexed: a unique btree entry must fit in a page (~2.7 kB), so
# they are bounded in characters (at most 4 bytes each in UTF-8) well below that.
Identifier = Annotated[str, Field(min_length=1, max_length=255)]


class InboundMessageReceived(Event):
    """A guest's message, normalized from any provider's webhook by the ingress."""

    routing_key: ClassVar[str] = "inbound.received"
    type: Literal["inbound.received"] = "inbound.received"

    provider: Provider
    channel_id: UUID
    # The provider's dedup key (Twilio MessageSid, Meta wamid, Telegram update_id, ...).
    provider_event_id: Identifier
    provider_message_id: Identifier
    # Phone number (E.164 when the provider gives one), Telegram chat id or e-mail address.
    sender_handle: Identifier
    sender_name: str | None = None
    content_type: ContentType = ContentType.TEXT
    text: str | None = None
    subject: str | None = None
    media: Media | None = None
    # Files beyond ``media`` (e-mail attachments, MMS parts after the first).
    attachments: tuple[Media, ...] = ()
    location: Location | None = None
    contact: Contact | None = None
    sent_at: datetime | None = None
    # Set when the guest edited an earlier message: ``provider_message_id`` names the edited
    # message and the fields carry its new content.
    edited_at: datetime | None = None
    # The provider's payload as parsed, kept for the audit trail (comms_events).
    raw: dict[str, Any] = Field(default_factory=dict)


class DeliveryStatusReceived(Event):
    """A provider's callback about an outbound message: sent, delivered, read or failed."""

    routing_key: ClassVar[str] = "inbound.status"
    type: Literal["inbound.status"] = "inbound.status"

    provider: Provider
    channel_id: UUID
    provider_event_id: Identifier
    provider_message_id: Identifier
    status: DeliveryStatus
    error_code: str | None = None
    error_message: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)


class OutboundMessageObserved(Event):
    """A message the business sent a guest outside frontdesk (typed on the linked phone, or by
    another API client), as the provider reports it; stored once as a staff message."""

    routing_key: ClassVar[str] = "inbound.outgoing"
    type: Literal["inbound.outgoing"] = "inbound.outgoing"

    provider: Provider
    channel_id: UUID
    provider_event_id: Identifier
    provider_message_id: Identifier
    # The guest it went to (as ``sender_handle`` of an inbound message).
    recipient_handle: Identifier
    # "phone": typed on the phone; "api": sent through the provider's API (frontdesk's own
    # sends come back this way too and are recognised by their provider message id).
    via: Literal["phone", "api"]
    content_type: ContentType = ContentType.TEXT
    text: str | None = None
    media: Media | None = None
    sent_at: datetime | None = None
    raw: dict[str, Any] = Field(default_factory=dict)


class MessageAccepted(Event):
    """An inbound message was stored exactly once."""

    routing_key: ClassVar[str] = "message.accepted"
    type: Literal["message.accepted"] = "message.accepted"

    message_id: UUID
    conversation_id: UUID
    guest_id: UUID
    channel_id: UUID


class MessageScored(Event):
    """An inbound message has a sentiment score and label."""

    routing_key: ClassVar[str] = "message.scored"
    type: Literal["message.scored"] = "message.scored"

    message_id: UUID
    conversation_id: UUID
    sentiment_score: float
    sentiment_label: SentimentLabel
    requires_attention: bool


class EscalationRequested(Event):
    """A conversation needs a human; ``reason`` is a staff notification type."""

    routing_key: ClassVar[str] = "escalation.requested"
    type: Literal["escalation.requested"] = "escalation.requested"

    conversation_id: UUID
    message_id: UUID | None = None
    reason: Literal[
        "negative_sentiment",
        "escalation",
        "low_confidence",
        "human_requested",
        "sla_breach",
        "delivery_failed",
        "delivery_uncertain",
        "guest_message",
        "rate_limited",
    ]
    detail: str = ""
    urgent: bool = False


class ReplyQueued(Event):
    """An outbound reply was drafted and waits for its ``send_after``."""

    routing_key: ClassVar[str] = "reply.queued"
    type: Literal["reply.queued"] = "reply.queued"

    message_id: UUID
    conversation_id: UUID
    in_reply_to: UUID
    send_after: datetime


class AutoReplySkipped(Event):
    """The auto-reply decided to do nothing for an inbound message, and why."""

    routing_key: ClassVar[str] = "reply.skipped"
    type: Literal["reply.skipped"] = "reply.skipped"

    message_id: UUID
    conversation_id: UUID
    reason: str


class NotificationAcknowledged(Event):
    """A staff member acknowledged a staff notification (through its signed link)."""

    routing_key: ClassVar[str] = "staff.acknowledged"
    type: Literal["staff.acknowledged"] = "staff.acknowledged"

    notification_id: UUID
    acknowledged_by: UUID | None = None
    # The alert target whose link was used; its user (if any) is who acknowledged.
    target_id: UUID | None = None


class ConversationUpdated(Event):
    """A staff member acted on a conversation from the inbox (one event per action), or its
    SLA warned or was breached (no actor).

    ``change`` names the action; ``from_value`` / ``to_value`` carry what changed (a status, an
    assignee id, a tag name); ``message_id`` the staff message a reply made, ``notification_id``
    the notification acknowledged."""

    routing_key: ClassVar[str] = "conversation.updated"
    type: Literal["conversation.updated"] = "conversation.updated"

    conversation_id: UUID
    change: Literal[
        "reply",
        "status",
        "assignment",
        "takeover",
        "priority",
        "tag",
        "note",
        "acknowledged",
        "sla_warning",  # to_value: the target (first_response, next_response, resolution)
        "sla_breach",
    ]
    actor_user_id: UUID | None = None
    from_value: str | None = None
    to_value: str | None = None
    message_id: UUID | None = None
    notification_id: UUID | None = None


class AgentAvailabilityChanged(Event):
    """A staff member's availability or capacity changed: waiting conversations may now fit."""

    routing_key: ClassVar[str] = "agent.availability"
    type: Literal["agent.availability"] = "agent.availability"

    user_id: UUID
    availability: Literal["online", "away", "offline"]
    capacity: int


class ReservationChanged(Event):
    """A reservation was created or changed (dates, guest, status): its schedule is re-planned."""

    routing_key: ClassVar[str] = "reservation.changed"
    type: Literal["reservation.changed"] = "reservation.changed"

    reservation_id: UUID
    status: str
    created: bool = False


class PmsReservationReceived(Event):
    """A PMS pushed a stay to its signed webhook (``/webhooks/pms/{integration_id}``): the
    ``reservations`` consumer applies it as ``PUT /api/v1/reservations/{external_ref}`` would."""

    routing_key: ClassVar[str] = "pms.reservation"
    type: Literal["pms.reservation"] = "pms.reservation"

    integration_id: UUID
    integration_type: str
    external_ref: str
    # The stay as the reservations API takes it (already checked against its schema).
    reservation: dict[str, Any]


class CompositionRequested(Event):
    """autoreply decided to answer and the tenant's model is to word it (the composer calls it).

    ``template_text`` is the answer in the reply template: what the guest gets whenever the
    model cannot be used or its reply fails a guard."""

    routing_key: ClassVar[str] = "reply.compose_requested"
    type: Literal["reply.compose_requested"] = "reply.compose_requested"

    message_id: UUID
    conversation_id: UUID
    channel_id: UUID
    knowledge_entry_id: str
    confidence: float
    template_text: str
    send_after: datetime
    # What ``knowledge_entry_id`` names: an FAQ item, or a passage of a knowledge document.
    source: Literal["item", "passage"] = "item"


class KnowledgeDocumentChanged(Event):
    """A knowledge document was uploaded or replaced: its passages are to be split and embedded
    (``version``: the content to process; an event for an older version is ignored)."""

    routing_key: ClassVar[str] = "knowledge.document_changed"
    type: Literal["knowledge.document_changed"] = "knowledge.document_changed"

    document_id: UUID
    version: int


AnyEvent = Annotated[
    InboundMessageReceived
    | DeliveryStatusReceived
    | OutboundMessageObserved
    | MessageAccepted
    | MessageScored
    | EscalationRequested
    | ReplyQueued
    | AutoReplySkipped
    | NotificationAcknowledged
    | ConversationUpdated
    | AgentAvailabilityChanged
    | ReservationChanged
    | PmsReservationReceived
    | CompositionRequested
    | KnowledgeDocumentChanged,
    Field(discriminator="type"),
]

any_event: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def decode(body: bytes) -> AnyEvent:
    """Parse a JSON body into its typed event; raises ``pydantic.ValidationError``."""
    return any_event.validate_json(body)


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()
