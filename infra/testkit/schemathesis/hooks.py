"""Schemathesis hooks for runs against docs/openapi.yaml (schemathesis.toml loads them).

A request that the document's schemas accept may still be refused for a rule that depends on
configuration or stored state (a `variantId` not in `PLANS`, a cursor the server did not issue).
The document lists those refusals per operation in `x-refusals-beyond-schema`; this hook drops a
`positive_data_acceptance` failure only when the 400 is one of them. Any other refusal of a
schema-valid request still fails the run.
"""

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

EXTENSION = "x-refusals-beyond-schema"


def is_listed(problem, refusals):
    """Whether the problem+json body is a refusal the operation lists."""
    code = problem.get("code")
    listed = [r for r in refusals if r.get("code") == code]
    if code != "validation_failed":
        return bool(listed)
    errors = problem.get("errors") or []
    # Every field error must be listed: one that is not is a rule the schema should state.
    return bool(errors) and all(
        any(
            r.get("field") == error.get("field") and r.get("message", error.get("message")) == error.get("message")
            for r in listed
        )
        for error in errors
    )


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 400:
        return True
    refusals = case.operation.definition.raw.get(EXTENSION, [])
    try:
        problem = response.json()
    except ValueError:
        return True
    return not (isinstance(problem, dict) and is_listed(problem, refusals))
