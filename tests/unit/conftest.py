"""The unit tier needs no database: a test here that asks for one fails, so the folder's name stays true."""

from __future__ import annotations

import pytest

DATABASE_FIXTURES = frozenset({"db", "db_url", "harness"})


@pytest.fixture(autouse=True)
def _no_database(request: pytest.FixtureRequest) -> None:
    wanted = sorted(DATABASE_FIXTURES & set(request.fixturenames))
    if wanted:
        pytest.fail(f"a unit test asks for {wanted}: it belongs in tests/dialogs or tests/integration")
