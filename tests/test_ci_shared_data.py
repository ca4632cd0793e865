"""Under CI (CI=true), real-data tests fail instead of skipping when ../shared/data is missing."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

SAMPLE = '''
import pytest

@pytest.mark.skipif(True, reason="../shared/data absent")
def test_marked():
    pass

def test_fixture(shared_data):
    pass

def test_other_skip():
    pytest.skip("chromium is missing")
'''


def _run(tmp_path, ci: str | None) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
                           str(tmp_path / "tests")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode, proc.stdout


@pytest.fixture
def sandbox(tmp_path):
    # the conftest looks for <checkout>/../shared/data: here, tmp_path/../shared/data, absent
    (tmp_path / "tests").mkdir()
    shutil.copy(HERE / "conftest.py", tmp_path / "tests" / "conftest.py")
    (tmp_path / "tests" / "test_sample.py").write_text(SAMPLE)
    assert not (tmp_path.parent / "shared" / "data").exists()
    return tmp_path


def test_missing_shared_data_skips_outside_ci(sandbox):
    rc, out = _run(sandbox, None)
    assert rc == 0 and "3 skipped" in out


def test_missing_shared_data_fails_under_ci(sandbox):
    rc, out = _run(sandbox, "true")
    assert rc == 1
    # both real-data tests stop in setup (reported as errors); other skips stay skips
    assert "2 errors" in out and "1 skipped" in out
    assert "CI=true" in out
