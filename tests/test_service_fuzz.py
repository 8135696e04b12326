"""Schema-driven fuzzing of the live service: schemathesis generates requests from its /openapi.json.

Whatever it sends (valid requests and deliberately invalid ones), the server answers without a 5xx, with the
status codes, content types and bodies its schema documents, and keeps serving. Schemathesis is driven through
its Hypothesis strategies because its lazy pytest fixture loader fails on pytest 9 (`request.node._nodeid`).
"""

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from test_service import ServerProcess, home  # noqa: F401 (home is a fixture)

OPERATIONS = [
    ("GET", "/v1/health"),
    ("GET", "/v1/models"),
    ("POST", "/v1/jobs"),
    ("GET", "/v1/jobs/{job_id}"),
    ("GET", "/v1/jobs/{job_id}/result"),
    ("GET", "/v1/jobs/{job_id}/result.npz"),
    ("GET", "/v1/jobs/{job_id}/beats"),
    ("DELETE", "/v1/jobs/{job_id}"),
]
EXAMPLES = 100


@pytest.fixture(scope="module")
def live_server(home, tmp_path_factory):  # noqa: F811
    srv = ServerProcess(home, tmp_path_factory.mktemp("fuzz"))
    yield srv
    assert srv.client.get("/v1/health").json()["status"] == "ok"
    assert srv.stop() == 0, srv.output()
    assert "Traceback" not in srv.output(), srv.output()


@pytest.fixture(scope="module")
def live_schema(live_server):
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")


def test_the_operations_fuzzed_are_all_there_are(live_schema):
    found = {(op.ok().method.upper(), op.ok().path) for op in live_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_errors(live_server, live_schema, method, path):
    operation = live_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=timedelta(seconds=20),
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case):
        # Schema-valid is not enough for POST /v1/jobs: the bytes must also be audio (422 otherwise).
        case.call_and_validate(
            base_url=live_server.url, timeout=30, excluded_checks=[positive_data_acceptance]
        )

    fuzz()
