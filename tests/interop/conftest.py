"""The interop suite: stock clients (Apollo Client, graphql-ws, gql) against the live server on both backends."""

from __future__ import annotations

import pytest

from tests.interop.node import ensure_node_modules


@pytest.fixture(scope="session", autouse=True)
def node_modules() -> None:
    ensure_node_modules()
