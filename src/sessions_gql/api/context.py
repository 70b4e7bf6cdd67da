"""The `Info` type resolvers receive."""

from __future__ import annotations

from typing import TypeAlias

from strawberry.types import Info as StrawberryInfo

from sessions_gql.context import Context

Info: TypeAlias = StrawberryInfo[Context, None]
