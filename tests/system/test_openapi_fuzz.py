"""schemathesis against every service's OpenAPI document: no generated request is a server error.

Each running service's ``/openapi.json`` is loaded as it is served; schemathesis
generates requests for every operation in it, both ones that fit the document
(positive) and ones that do not (negative), and sends them with an
administrator's token, so they reach validation and the handlers rather than
stopping at authentication.  The seed is fixed (``derandomize``) and the count
bounded, so the run is the same every time and short enough for CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err, Ok

from tests.threaded import SERVICES, ThreadedStack

pytestmark = pytest.mark.system

#: generated requests per operation and mode (positive, negative)
EXAMPLES = 15


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedStack]:
    running = ThreadedStack(tmp_path_factory.mktemp("openapi-fuzz"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("service", SERVICES)
def test_no_generated_request_gets_a_server_error(
    stack: ThreadedStack, service: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_dict(stack.documents[service])
    results = list(schema.get_all_operations())
    assert not [r.err() for r in results if isinstance(r, Err)], "the document has errors"
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert operations, "the document has no operations"
    base_url = stack.url(service)
    headers: dict[str, Any] = stack.harness.headers()
    called: list[str] = []
    nothing_to_violate: list[str] = []

    with requests.Session() as session:
        for operation in operations:

            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case[Any]) -> None:
                called.append(case.operation.label)
                case.call_and_validate(
                    base_url=base_url,
                    session=session,
                    headers=headers,
                    checks=[not_a_server_error],
                )

            try:
                call()
            except Unsatisfiable:  # nothing in its document to violate (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, operation.label
                nothing_to_violate.append(operation.label)

    assert {*called, *nothing_to_violate} == {op.label for op in operations}
