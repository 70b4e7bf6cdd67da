"""Shared test configuration: throwaway servers (tests/harness/fixtures.py) and the app (tests/harness/app.py)."""

from hypothesis import settings

pytest_plugins = ["tests.harness.fixtures", "tests.harness.app", "tests.harness.live", "tests.harness.smtp"]

# No per-example deadline: it is a timed assertion, and on a busy two-core machine one example of a pure
# function took 279 ms against the default 200 ms. What the properties check is the answer, not its speed.
settings.register_profile("sessions_gql", deadline=None)
settings.load_profile("sessions_gql")
