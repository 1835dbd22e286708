"""The built wheel is the whole product: installed into a fresh virtualenv, away from the
checkout, it migrates, collects its static files and serves the admin, with its CSS and the
project's own templates, through gunicorn.

Slow (a wheel build, a virtualenv, an install): ``-m "not packaging"`` leaves it out; CI runs
it once. The wheels of the dependencies are kept in a wheelhouse under ``~/.cache`` (or
``$KARTRA_WHEELHOUSE``), so a rerun installs without the network unless they changed.
"""

import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
# What the build reads: the project metadata and the packages that packages.find includes.
BUILD_INPUTS = ("pyproject.toml", "README.md", "kartra_mirror", "kartra_fake", "leads", "events")
PACKAGES = ("kartra_mirror", "kartra_fake", "leads", "events")
WHEELHOUSE = Path(
    os.environ.get("KARTRA_WHEELHOUSE", Path.home() / ".cache" / "kartra_mirror" / "wheelhouse")
)
PASSWORD = "packaging-test-password"


def _run(cmd: list, *, timeout: float = 300, check: bool = True, **kwargs):
    """Run a command; on failure, fail the test with its output."""
    done = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kwargs
    )
    if check and done.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, cmd))} exited {done.returncode}\n"
            f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from a copy of the checkout's build inputs (a build in
    place would leave build/ in the tree that other runs share)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    dist = tmp / "dist"
    # An absolute path: a bare directory name would be looked up on the index as a project.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", dist, src.resolve()])
    (built,) = dist.glob("kartra_mirror-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel: Path) -> Path:
    """A fresh virtualenv (no system site-packages) with the wheel and its dependencies."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    _run([sys.executable, "-m", "venv", venv])
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
    offline = [*pip, "install", "--no-index", "--find-links", WHEELHOUSE, wheel]
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    with (WHEELHOUSE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one filler at a time, across test runs
        if _run(offline, check=False).returncode != 0:
            # A new or changed dependency: fetch what is missing, then install offline.
            _run([*pip, "wheel", "--wheel-dir", WHEELHOUSE, "--find-links", WHEELHOUSE, wheel])
            # The project's own wheel is never taken from the cache.
            (WHEELHOUSE / wheel.name).unlink(missing_ok=True)
            _run(offline)
    return venv


@pytest.fixture(scope="module")
def site(tmp_path_factory, venv: Path) -> Iterator[str]:
    """The installed copy, migrated, collected and served by gunicorn from a directory
    outside the checkout, with production settings (no DJANGO_DEBUG) from the environment
    only; yields its base URL."""
    tmp = tmp_path_factory.mktemp("site")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "KARTRA_", "CELERY_", "DATABASE_", "REDIS_"))
        and k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        DJANGO_SETTINGS_MODULE="kartra_mirror.settings",
        DJANGO_SECRET_KEY="packaging-test-" + "k" * 50,
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        # Installed, the package's parent directory is site-packages: say where to collect.
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        # Plain HTTP on the loopback, no TLS proxy in front.
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )
    bin_ = venv / "bin"

    def run(*cmd, **kwargs):
        return _run([bin_ / cmd[0], *cmd[1:]], cwd=tmp, env=env, **kwargs)

    where = run("python", "-c", "import kartra_mirror; print(kartra_mirror.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # not the checkout
    run("django-admin", "migrate", "--no-input", "-v0")
    run("django-admin", "collectstatic", "--no-input", "-v0")
    run("django-admin", "createsuperuser", "--no-input", "--username=admin", "--email=a@b.example")

    port = free_port()
    log_path = tmp / "gunicorn.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [bin_ / "gunicorn", "kartra_mirror.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--timeout", "30"],
            cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base}/admin/login/", timeout=2)
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"gunicorn did not start:\n{log_path.read_text()[-4000:]}")
                    time.sleep(0.2)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


def _links(html: str, pattern: str) -> list[str]:
    return re.findall(rf'<link[^>]*href="(/static/{pattern})"', html)


def test_wheel_carries_every_file_of_the_packages(wheel: Path):
    """Templates, static files and migrations, and anything else beside the code."""
    names = set(zipfile.ZipFile(wheel).namelist())
    on_disk = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert on_disk - names == set()
    assert "kartra_mirror/templates/admin/index.html" in names
    assert "leads/static/kartra_admin/admin.css" in names
    assert "leads/migrations/0001_initial.py" in names
    assert "kartra_fake/__main__.py" in names  # bin/run's demo serves the fake Kartra


def test_installed_wheel_runs_the_fake_kartra(venv: Path, tmp_path: Path):
    """The demo's fake Kartra comes with the product: importable and runnable from the
    installed copy, away from the checkout."""
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    where = _run(
        [python, "-c", "import kartra_fake; print(kartra_fake.__file__)"], cwd=tmp_path, env=env
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    usage = _run([python, "-m", "kartra_fake", "--help"], cwd=tmp_path, env=env)
    assert "--webhook-url" in usage.stdout


def test_installed_wheel_serves_the_admin_with_its_css(site: str):
    with httpx.Client(base_url=site, timeout=10) as http:
        login = http.get("/admin/login/")
        assert login.status_code == 200
        assert login.headers["content-type"].startswith("text/html")
        # Django's CSS under its hashed name, and the project's base_site.html (its favicon).
        (base_css,) = _links(login.text, r"admin/css/base\.[0-9a-f]{12}\.css")
        (favicon,) = _links(login.text, r"kartra_admin/favicon\.[0-9a-f]{12}\.svg")
        for url, kind in ((base_css, "text/css"), (favicon, "image/svg+xml")):
            answer = http.get(url)
            assert answer.status_code == 200, url
            assert answer.headers["content-type"].startswith(kind), url
        assert "max-age=315360000" in http.get(base_css).headers["cache-control"]

        # The dashboard: the project's admin/index.html, its template tag and its CSS.
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)[1]
        logged_in = http.post(
            "/admin/login/?next=/admin/",
            data={"csrfmiddlewaretoken": token, "username": "admin", "password": PASSWORD},
            follow_redirects=True,
        )
        assert logged_in.status_code == 200
        assert str(logged_in.url).endswith("/admin/")
        assert 'id="kartra-dashboard"' in logged_in.text
        (admin_css,) = _links(logged_in.text, r"kartra_admin/admin\.[0-9a-f]{12}\.css")
        assert http.get(admin_css).status_code == 200
