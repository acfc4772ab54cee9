"""Every table of frontdesk; importing this module registers them all on ``Base.metadata``."""

from persistence.models.access import ApiKey, ConfigAudit, PasswordToken, SignInAttempt
from persistence.models.base import Base
from persistence.models.bots import BotDialogState, BotScenario, RateLimitBucket
from persistence.models.channels import Channel, IntegrationCredential, StaffAlertTarget
from persistence.models.composer import AiModelSettings, Composition
from persistence.models.conversations import (
    Conversation,
    ConversationEvent,
    ConversationNote,
    ConversationTag,
    MediaFile,
    Message,
    Tag,
)
from persistence.models.documents import KnowledgeDocument, KnowledgePassage
from persistence.models.guests import Guest, GuestIdentity, Reservation
from persistence.models.knowledge import (
    AiSettings,
    KnowledgeCategory,
    KnowledgeItem,
    Prompt,
)
from persistence.models.messaging import (
    CannedResponse,
    Template,
    Trigger,
    TriggerFiring,
    WhatsAppTemplate,
)
from persistence.models.notifications import (
    SlaPolicy,
    SlaViolation,
    SlaWarning,
    StaffAlertDelivery,
    StaffNotification,
)
from persistence.models.pipeline import CommsEvent, OutboxRow, ProcessedEvent, WebhookEvent
from persistence.models.routing import AgentStatus, RoutingRule
from persistence.models.scheduling import OptOut, ScheduledMessage
from persistence.models.staff import (
    AgentSkill,
    Permission,
    Role,
    RolePermission,
    Team,
    TeamMembership,
    User,
    UserRole,
)
from persistence.models.tenancy import (
    AssistantProfile,
    BusinessHours,
    Holiday,
    Property,
    PropertySettings,
    Tenant,
)

metadata = Base.metadata

__all__ = [
    "AgentSkill",
    "AgentStatus",
    "AiModelSettings",
    "AiSettings",
    "ApiKey",
    "AssistantProfile",
    "Base",
    "BotDialogState",
    "BotScenario",
    "BusinessHours",
    "CannedResponse",
    "Channel",
    "CommsEvent",
    "Composition",
    "ConfigAudit",
    "Conversation",
    "ConversationEvent",
    "ConversationNote",
    "ConversationTag",
    "Guest",
    "GuestIdentity",
    "Holiday",
    "IntegrationCredential",
    "KnowledgeCategory",
    "KnowledgeDocument",
    "KnowledgeItem",
    "KnowledgePassage",
    "MediaFile",
    "Message",
    "OptOut",
    "OutboxRow",
    "PasswordToken",
    "Permission",
    "ProcessedEvent",
    "Prompt",
    "Property",
    "PropertySettings",
    "RateLimitBucket",
    "Reservation",
    "Role",
    "RolePermission",
    "RoutingRule",
    "ScheduledMessage",
    "SignInAttempt",
    "SlaPolicy",
    "SlaViolation",
    "SlaWarning",
    "StaffAlertDelivery",
    "StaffAlertTarget",
    "StaffNotification",
    "Tag",
    "Team",
    "TeamMembership",
    "Template",
    "Tenant",
    "Trigger",
    "TriggerFiring",
    "User",
    "UserRole",
    "WebhookEvent",
    "WhatsAppTemplate",
    "metadata",
]
