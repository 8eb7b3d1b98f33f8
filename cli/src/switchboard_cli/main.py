"""The ``switchboard`` command: one sub-command per API action, each a thin call of the public HTTP API.

Every command accepts ``--output json|table`` (also before the sub-command) and, where it creates something,
``--quiet`` to print only the new id or key. Errors end the command with one line on stderr and exit status 1
(2 for a usage error), never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from switchboard_cli import config as configuration
from switchboard_cli.client import Api, CliError, Credential
from switchboard_cli.output import Output, bare, note, show

P = ParamSpec("P")
R = TypeVar("R")


def _one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """The command's own errors (an API's answer, an unreachable server, a bad profile) as ``Error: …``, exit 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (CliError, configuration.ConfigError) as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1) from None

    return run


def command(group: typer.Typer, name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register ``name`` in ``group``, its errors reported in one line."""

    def register(function: Callable[P, R]) -> Callable[P, R]:
        group.command(name)(_one_line_errors(function))
        return function

    return register


app = typer.Typer(
    name="switchboard",
    help="Switchboard from the command line: tenants, keys, webhooks, deliveries, events, and a local inbox.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
tenants = typer.Typer(help="Tenants (operator: SWITCHBOARD_ADMIN_TOKEN).", no_args_is_help=True)
keys = typer.Typer(help="A tenant's API keys (operator: SWITCHBOARD_ADMIN_TOKEN).", no_args_is_help=True)
webhooks = typer.Typer(help="Webhook subscriptions of the API key's tenant.", no_args_is_help=True)
deliveries = typer.Typer(help="A webhook's delivery log.", no_args_is_help=True)
events = typer.Typer(help="Events into Switchboard through the ingress.", no_args_is_help=True)
app.add_typer(tenants, name="tenants")
app.add_typer(keys, name="keys")
app.add_typer(webhooks, name="webhooks")
app.add_typer(deliveries, name="deliveries")
app.add_typer(events, name="events")

OutputOption = Annotated[
    Output | None, typer.Option("--output", "-o", help="json for scripts, table for people (default)")
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only the one value a script needs (id, key or secret)")
]
WebhookArg = Annotated[str, typer.Argument(help="The webhook id")]


@dataclass
class Globals:
    profile: str | None = None
    url: str | None = None
    ingress_url: str | None = None
    output: Output = Output.TABLE


_globals = Globals()


@app.callback()
def _root(
    profile: Annotated[
        str | None,
        typer.Option(help="Profile of ~/.config/switchboard/config.toml", envvar="SWITCHBOARD_PROFILE"),
    ] = None,
    url: Annotated[str | None, typer.Option(help="The registry's URL [SWITCHBOARD_URL]")] = None,
    ingress_url: Annotated[
        str | None, typer.Option(help="The ingress's URL [SWITCHBOARD_INGRESS_URL]")
    ] = None,
    output: OutputOption = None,
) -> None:
    global _globals  # one invocation's options, set afresh on every run
    _globals = Globals(profile, url, ingress_url, output or Output.TABLE)


def _output(output: Output | None) -> Output:
    return output or _globals.output


@contextmanager
def _api(server: Literal["registry", "ingress"], credential: Credential) -> Iterator[Api]:
    settings = configuration.load(_globals.profile, url=_globals.url, ingress_url=_globals.ingress_url)
    with Api(settings, server, credential) as api:
        yield api


def registry(credential: Credential = "api_key") -> Any:
    return _api("registry", credential)


# -- tenants and keys (operator) ----------------------------------------------------------------------------------


@command(tenants, "create")
def tenants_create(
    name: Annotated[str, typer.Argument(help="The tenant's display name")],
    development: Annotated[
        bool,
        typer.Option("--development", help="Development mode: plain-http and (where allowed) loopback URLs"),
    ] = False,
    output: OutputOption = None,
    quiet: QuietOption = False,
) -> None:
    """Create a tenant."""
    with registry("admin_token") as api:
        tenant = api.data("POST", "/api/admin/tenants", json={"name": name, "development_mode": development})
    if quiet:
        bare(tenant["id"])
    else:
        show(tenant, _output(output))


ScopeOption = Annotated[
    list[str] | None,
    typer.Option("--scope", metavar="SCOPE", help="A scope (repeatable; default *): e.g. webhooks:read"),
]


@command(keys, "create")
def keys_create(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant id")],
    name: Annotated[str, typer.Option(help="What the key is for")] = "cli",
    scope: ScopeOption = None,
    output: OutputOption = None,
    quiet: QuietOption = False,
) -> None:
    """Create an API key (shown once: store it)."""
    body: dict[str, Any] = {"name": name}
    if scope:
        body["scopes"] = scope
    with registry("admin_token") as api:
        key = api.data("POST", f"/api/admin/tenants/{tenant}/api-keys", json=body)
    if quiet:
        bare(key["key"])
    else:
        show(key, _output(output))


@command(keys, "list")
def keys_list(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant id")], output: OutputOption = None
) -> None:
    """List a tenant's API keys (never the keys themselves)."""
    with registry("admin_token") as api:
        listed = api.data("GET", f"/api/admin/tenants/{tenant}/api-keys")
    show(listed, _output(output), ["id", "name", "prefix", "scopes", "created_at", "revoked_at"])


@command(keys, "revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (not the key)")],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant id")],
    output: OutputOption = None,
) -> None:
    """Revoke an API key: it stops working at once."""
    with registry("admin_token") as api:
        key = api.data("DELETE", f"/api/admin/tenants/{tenant}/api-keys/{key_id}")
    show(key, _output(output))


# -- webhooks ---------------------------------------------------------------------------------------------------

WEBHOOK_COLUMNS = ["_id", "name", "url", "events", "active", "createdAt"]


def _event_list(values: list[str]) -> list[str]:
    """``--events a,b --events c`` → ``[a, b, c]``."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


@command(webhooks, "create")
def webhooks_create(
    url: Annotated[str, typer.Option(help="Where deliveries go (https; http for development tenants)")],
    events_: Annotated[
        list[str],
        typer.Option(
            "--events", "-e", metavar="TYPES", help="Event types, * or prefix.* (comma-separated or repeated)"
        ),
    ],
    name: Annotated[str, typer.Option(help="A name for people")] = "webhook",
    description: Annotated[str | None, typer.Option(help="What it is for")] = None,
    retry_schedule: Annotated[
        str | None,
        typer.Option(
            help="Seconds before each retry, comma-separated; '' for none (default: the registry's 4,8,10)"
        ),
    ] = None,
    output: OutputOption = None,
    quiet: QuietOption = False,
) -> None:
    """Create a webhook; its signing secret is in the answer."""
    body: dict[str, Any] = {
        "name": name,
        "url": url,
        "events": _event_list(events_),
        "description": description,
    }
    if retry_schedule is not None:
        try:
            delays = [int(delay) for delay in retry_schedule.split(",") if delay.strip()]
        except ValueError:
            raise typer.BadParameter(
                "whole seconds, comma-separated", param_hint="--retry-schedule"
            ) from None
        body["delivery"] = {"retry_schedule": delays}
    with registry() as api:
        webhook = api.data("POST", "/api/webhooks", json=body)
    if quiet:
        bare(webhook["_id"])
    else:
        show(webhook, _output(output))


@command(webhooks, "list")
def webhooks_list(
    page: Annotated[int, typer.Option(min=1)] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=100)] = 20,
    output: OutputOption = None,
) -> None:
    """List the tenant's webhooks."""
    with registry() as api:
        listed = api.data("GET", "/api/webhooks", params={"page": page, "per_page": per_page})
    show(listed, _output(output), WEBHOOK_COLUMNS, title="webhooks")


@command(webhooks, "show")
def webhooks_show(webhook: WebhookArg, output: OutputOption = None) -> None:
    """Show one webhook, with its signing secret."""
    with registry() as api:
        show(api.data("GET", f"/api/webhooks/{webhook}"), _output(output))


@command(webhooks, "delete")
def webhooks_delete(webhook: WebhookArg, output: OutputOption = None) -> None:
    """Delete a webhook."""
    with registry() as api:
        show(api.data("DELETE", f"/api/webhooks/{webhook}"), _output(output))


@command(webhooks, "test")
def webhooks_test(webhook: WebhookArg, output: OutputOption = None) -> None:
    """Send a webhook.test event to the webhook, whatever its event filter."""
    with registry() as api:
        show(api.data("POST", f"/api/webhooks/{webhook}/test"), _output(output))


@command(webhooks, "rotate")
def webhooks_rotate(webhook: WebhookArg, output: OutputOption = None, quiet: QuietOption = False) -> None:
    """Regenerate the signing secret (the old one keeps signing alongside for the registry's grace period)."""
    with registry() as api:
        rotated = api.data("POST", f"/api/webhooks/{webhook}/regenerate-secret")
    if quiet:
        bare(rotated["secret"])
    else:
        show(rotated, _output(output))


# -- deliveries --------------------------------------------------------------------------------------------------

DELIVERY_COLUMNS = [
    "_id",
    "eventType",
    "status",
    "attemptCount",
    "lastStatusCode",
    "lastErrorKind",
    "lastAttemptAt",
]
ATTEMPT_COLUMNS = [
    "attempt",
    "trigger",
    "attemptedAt",
    "outcome",
    "statusCode",
    "latencyMs",
    "errorKind",
    "error",
]


@command(deliveries, "list")
def deliveries_list(
    webhook: WebhookArg,
    status: Annotated[str | None, typer.Option(help="pending, succeeded or failed")] = None,
    event_type: Annotated[str | None, typer.Option(help="Only this event type")] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=100)] = 20,
    output: OutputOption = None,
) -> None:
    """List a webhook's deliveries, newest first."""
    params = {"status": status, "event_type": event_type, "page": page, "per_page": per_page}
    with registry() as api:
        listed = api.data("GET", f"/api/webhooks/{webhook}/deliveries", params=params)
    show(listed, _output(output), DELIVERY_COLUMNS, title="deliveries")


@command(deliveries, "show")
def deliveries_show(
    webhook: WebhookArg,
    delivery: Annotated[str, typer.Argument(help="The delivery id (msg_…, the webhook-id header)")],
    output: OutputOption = None,
) -> None:
    """Show a delivery with every attempt."""
    with registry() as api:
        detail = api.data("GET", f"/api/webhooks/{webhook}/deliveries/{delivery}")
    if _output(output) is Output.JSON:
        show(detail, Output.JSON)
        return
    show({key: value for key, value in detail.items() if key != "attempts"}, Output.TABLE)
    show(detail["attempts"], Output.TABLE, ATTEMPT_COLUMNS, title="attempts")


@command(app, "redeliver")
def redeliver(
    webhook: WebhookArg,
    delivery: Annotated[str, typer.Argument(help="The delivery id (msg_…)")],
    output: OutputOption = None,
) -> None:
    """Attempt one delivery again, now."""
    with registry() as api:
        show(api.data("POST", f"/api/webhooks/{webhook}/deliveries/{delivery}/redeliver"), _output(output))


def _since(value: str) -> datetime:
    """RFC 3339 (``2026-01-01T00:00:00Z``) or a duration back from now (``90s``, ``15m``, ``24h``, ``7d``)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if value[-1:] in units and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(seconds=int(value[:-1]) * units[value[-1]])
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            "an RFC 3339 time (2026-01-01T00:00:00Z) or a duration (15m, 24h, 7d)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _failed_in(api: Api, webhook: str, since: datetime, until: datetime | None) -> list[str]:
    """The failed deliveries whose first attempt is in the window: the ones a recover will attempt again."""
    found: list[str] = []
    page = 1
    while True:
        body = api.request(
            "GET",
            f"/api/webhooks/{webhook}/deliveries",
            params={"status": "failed", "page": page, "per_page": 100},
        )
        for item in body["data"]:
            created = datetime.fromisoformat(item["createdAt"].replace("Z", "+00:00"))
            if created >= since and (until is None or created <= until):
                found.append(item["_id"])
        if page >= body["pagination"]["pages"]:
            return found
        page += 1


@command(app, "recover")
def recover(
    webhook: WebhookArg,
    since: Annotated[
        str, typer.Option(help="Replay failures since this time: RFC 3339 or a duration back (15m, 24h, 7d)")
    ],
    until: Annotated[str | None, typer.Option(help="… up to this time (default: now)")] = None,
    wait: Annotated[bool, typer.Option(help="Follow the recovery with a progress bar")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to follow it")] = 120.0,
    output: OutputOption = None,
) -> None:
    """Attempt again every delivery the dispatcher gave up on since a time."""
    start = _since(since)
    end = None if until is None else _since(until)
    with registry() as api:
        pending = _failed_in(api, webhook, start, end) if wait else []
        params = {"since": start.isoformat(), "until": None if end is None else end.isoformat()}
        accepted = api.data("POST", f"/api/webhooks/{webhook}/recover", params=params)
        if wait and pending:
            recovered = _follow(api, webhook, accepted["commandId"], pending, timeout)
            accepted = {**accepted, "recovered": recovered, "candidates": len(pending)}
    show(accepted, _output(output))


def _follow(api: Api, webhook: str, command_id: str, pending: list[str], timeout_s: float) -> int:
    """A progress bar over the candidates that got an attempt from ``command_id``; how many did."""
    deadline = time.monotonic() + timeout_s
    waiting = set(pending)
    with Progress(
        TextColumn("recovering"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        task = progress.add_task("recover", total=len(pending))
        while waiting and time.monotonic() < deadline:
            for delivery in sorted(waiting):
                detail = api.data("GET", f"/api/webhooks/{webhook}/deliveries/{delivery}")
                if any(attempt.get("commandId") == command_id for attempt in detail["attempts"]):
                    waiting.discard(delivery)
                    progress.advance(task)
            if waiting:
                time.sleep(0.5)
    if waiting:
        note(f"{len(waiting)} of {len(pending)} deliveries not attempted again within {timeout_s:g} s")
    return len(pending) - len(waiting)


# -- events -----------------------------------------------------------------------------------------------------


@command(events, "send")
def events_send(
    type_: Annotated[str, typer.Argument(metavar="TYPE", help="The event type, e.g. message.created")],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant the event belongs to")],
    data: Annotated[str, typer.Option(help="The event data as JSON")] = "{}",
    source: Annotated[str, typer.Option(help="The producer, a URI reference")] = "//switchboard-cli",
    subject: Annotated[
        str | None, typer.Option(help="What the event is about, e.g. a conversation id")
    ] = None,
    event_id: Annotated[str | None, typer.Option("--id", help="The event id (default: a new UUID)")] = None,
    output: OutputOption = None,
    quiet: QuietOption = False,
) -> None:
    """Publish a CloudEvent to platform.events through the ingress (POST /v1/events)."""
    try:
        payload = json.loads(data)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--data") from None
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id or uuid.uuid4().hex,
        "source": source,
        "type": type_,
        "time": datetime.now(UTC).isoformat(),
        "tenant": tenant,
        "data": payload,
    }
    if subject:
        event["subject"] = subject
        event["partitionkey"] = subject
    with _api("ingress", "events_token") as api:
        accepted = api.request(
            "POST",
            "/v1/events",
            content=json.dumps(event).encode(),
            headers={"content-type": "application/cloudevents+json"},
        )
    if quiet:
        bare(accepted["id"])
    else:
        show(accepted, _output(output))


# -- listen -----------------------------------------------------------------------------------------------------


@command(app, "listen")
def listen_command(
    events_: Annotated[
        list[str] | None,
        typer.Option("--events", "-e", metavar="TYPES", help="Event types for the new webhook (default *)"),
    ] = None,
    forward_to: Annotated[
        str | None,
        typer.Option("--forward-to", "-f", help="Pass each delivery on to this URL; relay its answer"),
    ] = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="Use this existing webhook (pointing at loopback) instead")
    ] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Exit after this many deliveries")] = None,
    timeout: Annotated[float | None, typer.Option(min=0, help="Exit after this many seconds")] = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (default: any free one)")
    ] = 0,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per delivery")] = False,
    ready_file: Annotated[
        Path | None, typer.Option(help="Write this file once deliveries can arrive; removed on exit")
    ] = None,
    print_secret: Annotated[bool, typer.Option(help="Show the signing secret on the ready line")] = False,
    output: OutputOption = None,
) -> None:
    """A local inbox: print each delivery with its signature checked (exit 0 only if all verified)."""
    from switchboard_cli.listen import ListenOptions, listen

    options = ListenOptions(
        events=_event_list(events_ or ["*"]),
        webhook_id=webhook,
        forward_to=forward_to,
        count=count,
        timeout_s=timeout,
        port=port,
        json_lines=json_lines or _output(output) is Output.JSON,
        ready_file=ready_file,
        print_secret=print_secret,
    )
    with registry() as api:
        code = listen(api, options)
    raise typer.Exit(code)


# -- entry point ------------------------------------------------------------------------------------------------


def main() -> None:
    """The console script: the app, with anything unforeseen still reported as one line, not a traceback."""
    try:
        app()
    except Exception as exc:  # the app's own errors are ClickExceptions, shown by click as "Error: …"
        sys.stderr.write(f"Error: unexpected {type(exc).__name__}: {exc}\n")
        sys.exit(1)
