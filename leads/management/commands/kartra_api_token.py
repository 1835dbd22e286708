"""Print (creating if needed) the REST API token of a user."""

from django.core.management.base import BaseCommand, CommandError

from kartra_mirror.api.services import ApiTokenError, api_token_issue


class Command(BaseCommand):
    help = (
        "Print the API token of USERNAME, creating it if needed. Use it as "
        "'Authorization: Token <key>' on /api/v1/."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--create-user", action="store_true", help="Create a missing user.")
        parser.add_argument(
            "--staff", action="store_true", help="Mark the user staff (deliveries, sync runs)."
        )
        parser.add_argument(
            "--grant-view",
            action="store_true",
            help="Give the user the view permission on every model of the mirror.",
        )
        parser.add_argument("--rotate", action="store_true", help="Replace an existing token.")

    def handle(self, *args, username: str, **options):
        try:
            issued = api_token_issue(
                username=username,
                create_user=options["create_user"],
                staff=options["staff"],
                grant_view=options["grant_view"],
                rotate=options["rotate"],
            )
        except ApiTokenError as exc:
            raise CommandError(str(exc)) from exc
        if issued.created_user:
            self.stderr.write(f"Created user {username!r}.")
        if not issued.user.has_perm("leads.view_lead") and not options["grant_view"]:
            self.stderr.write(
                f"{username!r} holds no view permission on leads yet: grant it in the admin "
                "or pass --grant-view."
            )
        self.stdout.write(issued.key)
