"""The `easgate` command line: one typer app, each group of commands in its own module."""
from __future__ import annotations

import typer

from gateway import cli_trace  # noqa: F401  (adds `devices trace` to the devices group)
from gateway.cli_admin import clock_app, devices_app, mail_app, policy_app, tenants_app
from gateway.cli_db import db_app, seed_command
from gateway.cli_emulate import emulate_command, load_command
from gateway.cli_faults import faults_app
from gateway.cli_serve import serve_command
from gateway.cli_wbxml import wbxml_app

app = typer.Typer(
    help="easgate: an Exchange ActiveSync gateway simulator.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(db_app, name="db", help="Database schema commands.")
app.add_typer(wbxml_app, name="wbxml", help="Convert EAS bodies between WBXML and XML.")
app.add_typer(policy_app, name="policy", help="The tenant's mobile email access setting.")
app.add_typer(tenants_app, name="tenants", help="Tenants (mail domains) and their setting.")
app.add_typer(clock_app, name="clock", help="The gateway clock (policy time).")
app.add_typer(devices_app, name="devices", help="Devices, their access state and choices.")
app.add_typer(mail_app, name="mail", help="Put mail into mailboxes.")
app.add_typer(faults_app, name="faults", help="Fault injection: make the gateway misbehave on purpose.")
app.command("serve", help="Run the gateway: EAS over HTTP and HTTPS, autodiscover, admin API.")(serve_command)
app.command("seed", help="Load the demo tenant into an empty database.")(seed_command)
app.command("emulate", help="Play one device of a real app's profile against a gateway.")(emulate_command)
app.command("load", help="Load a gateway with many emulated devices and summarise.")(load_command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
