"""Property-based tests of the API from its own OpenAPI description (schemathesis): whatever a client sends to any
operation, the app answers without a server error. Bounded in examples so the suite stays fast."""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the API fuzz test needs schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from faithlab.models import Classifier  # noqa: E402
from faithlab.serve.app import create_app  # noqa: E402
from faithlab.serve.schemas import Limits  # noqa: E402

# small limits keep every generated request cheap on the tiny model; crossing them must still answer 4xx
FUZZ_LIMITS = Limits(max_chars=200, max_methods=3, max_budget=64)
EXAMPLES = 6  # per operation


def test_no_request_to_any_operation_makes_a_server_error(serve_classifier: Classifier, bench_run: Path):
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(serve_classifier, run=bench_run,
                                                                         limits=FUZZ_LIMITS))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case) -> None:
            response = case.call()
            case.validate_response(response, checks=[not_a_server_error])

        no_server_error()
