"""Shared test configuration: throwaway servers (tests/harness/fixtures.py) and the app (tests/harness/app.py)."""

pytest_plugins = ["tests.harness.fixtures", "tests.harness.app", "tests.harness.live", "tests.harness.smtp"]
