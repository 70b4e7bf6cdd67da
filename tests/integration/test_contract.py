"""The exported schema keeps every name of the public contract (../shared/design/schema.graphql).

It runs the contract's own checker, unmodified, on what `sessions-gql export-schema` prints, so a removed or
renamed type, field, argument or enum value fails the suite, not a client in the field.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT.parent / "shared" / "tools" / "contract_check.py"


def test_the_exported_schema_keeps_every_name_of_the_contract(tmp_path: Path) -> None:
    assert CHECKER.is_file(), f"the contract checker is missing: {CHECKER} (../shared must sit beside the repo)"
    exported = subprocess.run([sys.executable, "-m", "sessions_gql.cli", "export-schema"], capture_output=True,
                              text=True, check=True, timeout=120, cwd=tmp_path,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    schema = tmp_path / "schema.graphql"
    schema.write_text(exported.stdout)
    checked = subprocess.run([sys.executable, str(CHECKER), str(schema)], capture_output=True, text=True,
                             timeout=120)
    lines = checked.stdout.strip().splitlines()
    assert (checked.returncode, lines[-1].endswith(", 0 failed")) == (0, True), checked.stdout + checked.stderr
    assert lines[-1].startswith("contract: ") and int(lines[-1].split()[1]) >= 643, lines[-1]
