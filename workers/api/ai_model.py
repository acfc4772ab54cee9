"""The tenant's own language model (``ai_settings.manage``): where it is, a test call, and what
it used per month. The API key is write-only: stored encrypted, answered as a masked hint."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field, SecretStr, StringConstraints, model_validator

from domain.composer import CompositionInput, KnowledgeFact, build_messages
from domain.matching import KnowledgeEntry, KnowledgeMatcher
from persistence.models import AiModelSettings
from persistence.repositories.composer import ModelAccess, ModelSettings
from workers.api.channels import hint
from workers.api.problems import Problem, conflict, forbidden
from workers.api.schemas import Body, Out
from workers.api.security import PERMISSION_ATTRIBUTE, Context, require
from workers.consumers.composer import month_start
from workers.language_model import ModelCallError, complete

router = APIRouter(prefix="/ai", tags=["ai"])
Manage = Annotated[Context, Depends(require("ai_settings.manage"))]
Url = Annotated[str, StringConstraints(max_length=500, pattern=r"^https?://[^\s/?#@]+[^\s?#@]*$")]
ModelName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^\S+$")
]
Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
TEST_KNOWLEDGE_ITEMS = 3


SignedIn = Annotated[Context, Depends(require(None))]


async def usage_reader(context: SignedIn) -> Context:
    """``reports.read`` or ``ai_settings.manage`` (declared as ``reports.read``)."""
    if not context.principal.permissions & {"reports.read", "ai_settings.manage"}:
        raise forbidden("reports.read")
    return context


setattr(usage_reader, PERMISSION_ATTRIBUTE, "reports.read")
UsageReader = Annotated[Context, Depends(usage_reader)]


class ModelValues(Body):
    enabled: bool
    base_url: Url | None = Field(
        description="An OpenAI-compatible API: replies come from POST {base_url}/chat/completions"
    )
    model: ModelName | None
    api_key: Annotated[SecretStr, Field(max_length=4096)] | None = Field(
        default=None,
        description='Write-only. Omit (or null) to keep the stored key; "" removes it.',
    )
    temperature: Annotated[Decimal, Field(ge=0, le=2, max_digits=3, decimal_places=2)] = Decimal(
        "0.2"
    )
    max_tokens: Annotated[int, Field(ge=1, le=32_000)] = 400
    timeout_seconds: Annotated[int, Field(ge=1, le=120)] = 20
    monthly_token_budget: Annotated[int, Field(ge=0, le=10**15)] | None = None

    @model_validator(mode="after")
    def enabled_needs_a_model(self) -> ModelValues:
        if self.enabled and (self.base_url is None or self.model is None):
            raise ValueError("an enabled model needs base_url and model")
        return self


class ModelOut(Out):
    enabled: bool
    base_url: str | None
    model: str | None
    api_key_set: bool
    api_key_hint: str | None = Field(description="The key's last characters at most.")
    temperature: float
    max_tokens: int
    timeout_seconds: int
    monthly_token_budget: int | None
    paused_until: datetime | None = Field(description="After a 429: no calls before this.")


class TestQuestion(Body):
    question: Question


class TestAnswer(Out):
    reply: str
    latency_ms: int
    usage: dict[str, int]


class ModelUsage(Out):
    model: str | None
    compositions: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    composed: int
    template: int
    escalated: int
    average_latency_ms: int | None


class UsageOut(Out):
    month: str
    monthly_token_budget: int | None
    tokens_used: int
    models: list[ModelUsage]


def _out(context: Context, row: AiModelSettings | ModelSettings | None) -> ModelOut:
    if row is None:
        row = AiModelSettings(
            enabled=False, temperature=Decimal("0.2"), max_tokens=400, timeout_seconds=20
        )
    key = None
    if row.api_key_encrypted is not None:
        key = context.uow.composer.api_key(row)
    return ModelOut(
        enabled=row.enabled,
        base_url=row.base_url,
        model=row.model,
        api_key_set=key is not None,
        api_key_hint=hint(key) if key is not None else None,
        temperature=float(row.temperature),
        max_tokens=row.max_tokens,
        timeout_seconds=row.timeout_seconds,
        monthly_token_budget=row.monthly_token_budget,
        paused_until=row.paused_until,
    )


def _audited(row: AiModelSettings) -> dict[str, object]:
    # Audit keys named like secrets are masked ("token"): the limits go under plainer names.
    return {
        "enabled": row.enabled,
        "base_url": row.base_url,
        "model": row.model,
        "api_key": "set" if row.api_key_encrypted is not None else None,
        "temperature": float(row.temperature),
        "reply_limit": row.max_tokens,
        "timeout_seconds": row.timeout_seconds,
        "monthly_budget": row.monthly_token_budget,
    }


@router.get("/model", response_model=ModelOut)
async def get_model(context: Manage) -> ModelOut:
    """The model settings (off until configured); the key only as a masked hint."""
    return _out(context, await context.uow.composer.settings())


@router.put("/model", response_model=ModelOut)
async def put_model(body: ModelValues, context: Manage) -> ModelOut:
    """Replace the model settings; ``api_key`` omitted keeps the stored key."""
    row = await context.uow.composer.add_settings()
    old = _audited(row)
    values = body.model_dump(exclude={"api_key"})
    for name, value in values.items():
        setattr(row, name, value)
    if body.api_key is not None:
        secret = body.api_key.get_secret_value().strip()
        row.api_key_encrypted = context.uow.composer.encrypt(secret) if secret else None
    row.paused_until = None  # a new configuration is tried afresh
    await context.uow.session.flush()
    new = _audited(row)
    if body.api_key is not None and row.api_key_encrypted is not None:
        new["api_key"] = "changed"
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="ai_model",
        resource_id=row.id,
        action="update",
        old=old,
        new=new,
    )
    await context.uow.commit()
    return _out(context, row)


@router.post(
    "/model/test",
    response_model=TestAnswer,
    responses={502: {"description": "The model's provider refused or failed"}},
)
async def test_model(body: TestQuestion, context: Manage) -> TestAnswer:
    """One call with the published prompt and the best-matching knowledge items."""
    row = await context.uow.composer.settings()
    if row is None or row.base_url is None or row.model is None:
        raise conflict("configure base_url and model first (PUT /api/v1/ai/model)")
    access: ModelAccess = context.uow.composer.access(row)
    prompt = await context.uow.prompts.published()
    entries = await context.uow.knowledge.list_entries()
    # The transaction ends before the call: a model call never holds one open.
    await context.uow.commit()
    composition = CompositionInput(
        prompt=prompt.body if prompt is not None else "",
        question=body.question,
        knowledge=_best(entries, body.question),
    )
    try:
        completion = await complete(access, build_messages(composition))
    except ModelCallError as exc:
        raise Problem(
            502,
            f"the model's provider answered {exc.reason}: {exc.detail}",
            kind="model-error",
            reason=exc.reason,
            provider_status=exc.status,
            latency_ms=exc.latency_ms,
        ) from None
    return TestAnswer(
        reply=completion.text, latency_ms=completion.latency_ms, usage=completion.usage.as_dict()
    )


def _best(entries: list[KnowledgeEntry], question: str) -> tuple[KnowledgeFact, ...]:
    ranked = KnowledgeMatcher(entries).rank(question, limit=TEST_KNOWLEDGE_ITEMS)
    return tuple(KnowledgeFact(str(m.entry.id), m.entry.question, m.entry.answer) for m in ranked)


@router.get("/usage", response_model=UsageOut)
async def get_usage(
    context: UsageReader,
    month: Annotated[
        str | None,
        Query(pattern=MONTH, description="YYYY-MM (UTC); the current month if omitted"),
    ] = None,
) -> UsageOut:
    """Compositions, model calls, tokens and outcomes of one month, per model
    (``reports.read`` or ``ai_settings.manage``)."""
    start = month_start(datetime.now(UTC))
    if month is not None:
        start = datetime(int(month[:4]), int(month[5:]), 1, tzinfo=UTC)
    end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
    rows = await context.uow.composer.usage(start=start, end=end)
    settings = await context.uow.composer.settings()
    return UsageOut(
        month=f"{start:%Y-%m}",
        monthly_token_budget=settings.monthly_token_budget if settings is not None else None,
        tokens_used=sum(r.prompt_tokens + r.completion_tokens for r in rows),
        models=[ModelUsage.model_validate(r) for r in rows],
    )
