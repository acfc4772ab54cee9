"""Types every resource's schemas share."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from workers.api.commands.staff import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Password = Annotated[
    SecretStr, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class Body(BaseModel):
    """A request body: unknown fields are refused rather than silently ignored, and so is text
    PostgreSQL cannot store (a NUL character, a lone UTF-16 surrogate) in any field."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        refuse_unstorable(value)
        return value


def refuse_unstorable(value: Any) -> None:
    """Raise ``ValueError`` when ``value`` (or a string inside it, keys included) holds a NUL
    character or a lone surrogate: neither PostgreSQL's text nor its jsonb can hold them."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain a NUL character")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("text must not contain a lone UTF-16 surrogate") from None
    elif isinstance(value, SecretStr):
        refuse_unstorable(value.get_secret_value())
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_unstorable(key)
            refuse_unstorable(item)
    elif isinstance(value, list | tuple):
        for item in value:
            refuse_unstorable(item)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)
