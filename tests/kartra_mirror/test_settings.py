"""Settings come from the environment; production is a matter of variables."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KARTRA_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_variables():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY="k" * 20 + "-production-secret-" + "z" * 30,
        DJANGO_ALLOWED_HOSTS="mirror.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_with_the_local_default_key():
    result = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


def test_debug_is_off_unless_set():
    result = _manage(
        "shell", "-v", "0", "-c", "from django.conf import settings; print(settings.DEBUG)"
    )
    assert result.stdout.strip() == "False"
    result = _manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        DJANGO_DEBUG="1",
    )
    assert result.stdout.strip() == "True"


def _configuration_table() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}


def test_env_example_lists_every_setting_of_the_readme_and_no_other():
    example = (ROOT / ".env.example").read_text()
    names = {
        line.lstrip("# ").split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].isupper()
    }
    assert names == _configuration_table()


def test_every_setting_of_the_readme_is_read_somewhere():
    sources = "".join(
        path.read_text()
        for path in [
            ROOT / "kartra_mirror" / "settings.py",
            ROOT / "gunicorn.conf.py",
            ROOT / "Procfile",
            ROOT / "bin" / "serve",
        ]
    )
    unread = {name for name in _configuration_table() if name not in sources}
    assert not unread


def _delivery_batch(**env: str) -> int:
    shown = "from django.conf import settings; print(settings.KARTRA_DELIVERY_BATCH)"
    result = _manage("shell", "-v", "0", "-c", shown, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    return int(result.stdout)


def test_delivery_batch_is_larger_on_postgresql_than_on_sqlite(tmp_path):
    # PostgreSQL takes a batch's keys as one array; SQLite one parameter per key (999 at most
    # before 3.32). Reading settings opens no connection, so no server is needed here.
    assert _delivery_batch(DATABASE_URL="postgres://mirror@127.0.0.1:5432/mirror") == 500
    assert _delivery_batch(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}") == 200
    set_here = {"DATABASE_URL": "postgres://mirror@127.0.0.1:5432/mirror"}
    assert _delivery_batch(**set_here, KARTRA_DELIVERY_BATCH="50") == 50
