"""Make sure a local superuser exists and say how to log in (used by ``bin/run``)."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the local 'admin' superuser on first run and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--password-file",
            default=settings.BASE_DIR / ".local" / "admin-password",
            help="where the generated password is kept (default: .local/admin-password)",
        )

    def handle(self, *args, username: str, password_file, **options):
        password_file = Path(password_file)
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user_model.objects.create_superuser(username, "", password)
            password_file.parent.mkdir(exist_ok=True)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        if password_file.exists():
            password = password_file.read_text().strip()
            how = f"user {username!r}, password {password!r} (kept in {password_file})"
        else:
            how = f"user {username!r} with the password you set"
        self.stdout.write(f"Log in to the admin (/admin/) as {how}.")
