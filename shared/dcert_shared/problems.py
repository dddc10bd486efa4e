"""The error types services raise, under the name they have always imported them by.

The types live in dcert_shared.errors, their HTTP rendering in dcert_shared.problem_responses and
the OpenAPI problem answers in dcert_shared.openapi; this module only re-exports the types, so
the many `from dcert_shared.problems import ...` lines of the services stay as they are.
"""

from __future__ import annotations

from .errors import (
    Bilingual,
    CodedValidationFailed,
    ConcurrencyConflict,
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unauthenticated,
    ValidationFailed,
    validation_errors,
    validation_errors_in_both,
)

__all__ = [
    "Bilingual",
    "CodedValidationFailed",
    "ConcurrencyConflict",
    "Conflict",
    "DomainError",
    "FieldError",
    "Forbidden",
    "IdempotencyKeyReused",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthenticated",
    "ValidationFailed",
    "validation_errors",
    "validation_errors_in_both",
]
