"""Cofre's automations: a failed quality gate, a security incident, a failed or crashed Cofre
run and a run refused because its home is busy each send one notification through one Prefect
notification block, naming the flow run.

One happening, one notification: a run that fails of a failed gate or an incident says nothing
more (the gate's or the incident's notification names its run), a stage flow inside the full
pipeline says nothing (the pipeline's failure names the stage), and a home-busy refusal is
its own event, not a failure (flows/run_failure.py, blocks/runtime/events.py). A crash (a run that
dies without raising) is Prefect's `prefect.flow-run.Crashed` of a deployment's run, whose
subflows have no deployment.

`install_automations` creates them on the Prefect server the runs report to, or updates them
in place: each is found by its name (`cofre-...`), so installing again never duplicates one.
The block is any notification block already saved (Slack, e-mail, Teams, ... `--block`), or a
Custom Webhook block saved here from a URL (`--webhook-url`). A webhook URL often carries a
token, so it is held in the block's secret values (`{{ cofre_webhook_url }}` in its URL field):
Prefect encrypts block data at rest and its API and UI show secret values obfuscated. Cofre's
Fernet keyring cannot hold it: the server sends the notification, and it has no keyring.

Why not `prefect.yaml`: its `triggers` are deployment triggers, whose action runs the
deployment; it cannot declare a notification. `prefect automation create --from-file` creates
a second copy on every call and needs the block document's id, known once the block is saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from blocks.errors import ConfigurationError
from blocks.runtime import events

# Every Cofre flow (`@flow(name=...)` in flows/): their failed or crashed runs notify.
COFRE_FLOWS = ("full-pipeline", "ingestion", "silver", "gold", "warehouse", "lifecycle")
AUTOMATION_PREFIX = "cofre-"
DEFAULT_BLOCK = "cofre-alerts"
WEBHOOK_BLOCK_TYPE = "custom-webhook"
WEBHOOK_SECRET = "cofre_webhook_url"  # noqa: S105 - the name of the URL's secret value
RUN_CRASHED = "prefect.flow-run.Crashed"

_RUN_LINE = "{% if flow_run %}\nFlow run: {{ flow_run.name }} ({{ flow_run.id }}){% endif %}"
_HOME_LINE = "\nCofre home: {{ event.resource.name }}"


@dataclass(frozen=True)
class Alert:
    """One automation: its name, what fires it and the notification it sends."""

    name: str
    description: str
    expect: tuple[str, ...]
    match: dict[str, Any]
    match_related: dict[str, Any] | list[dict[str, Any]]
    subject: str
    body: str


ALERTS = (
    Alert(
        name="cofre-quality-gate-failed",
        description="A silver or gold quality gate stopped a Cofre run.",
        expect=(events.GATE_FAILED,),
        match={"prefect.resource.id": f"{events.HOME_RESOURCE_PREFIX}*"},
        match_related={},
        subject="Cofre: quality gate failed: {{ event.payload.layer }} {{ event.payload.dataset }}",
        body="The {{ event.payload.layer }} quality gate failed on {{ event.payload.dataset }} "
        "in run {{ event.payload.run_id }}; the stage stopped and published nothing."
        "\nReason: {{ event.payload.reason }}" + _RUN_LINE + _HOME_LINE,
    ),
    Alert(
        name="cofre-security-incident",
        description="An audit record with action SECURITY_INCIDENT was written.",
        expect=(events.SECURITY_INCIDENT,),
        match={"prefect.resource.id": f"{events.HOME_RESOURCE_PREFIX}*"},
        match_related={},
        subject="Cofre: SECURITY INCIDENT on {{ event.payload.target }}",
        body="A security incident was audited (audit seq {{ event.payload.audit_seq }}, "
        "outcome {{ event.payload.outcome }}) on {{ event.payload.target }}."
        "\nDetails: {{ event.payload.details | tojson }}"
        "\nKeep the evidence; see docs/operations.md, 'Secrets and audit'."
        + _RUN_LINE
        + _HOME_LINE,
    ),
    Alert(
        name="cofre-run-failed",
        description="A Cofre run failed (not of a gate or an incident, which notify themselves).",
        expect=(events.RUN_FAILED,),
        match={"prefect.resource.id": f"{events.HOME_RESOURCE_PREFIX}*"},
        match_related={},
        subject="Cofre: {{ flow.name }} run {{ flow_run.name }} failed",
        body="Flow run {{ flow_run.name }} ({{ flow_run.id }}) of {{ flow.name }} failed."
        "\n{{ event.payload.error }}: {{ event.payload.reason }}" + _HOME_LINE,
    ),
    Alert(
        name="cofre-run-crashed",
        description="A deployment's Cofre run crashed (its process died without reporting).",
        expect=(RUN_CRASHED,),
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related=[
            {"prefect.resource.role": "flow", "prefect.resource.name": list(COFRE_FLOWS)},
            {"prefect.resource.role": "deployment"},  # the run itself, not its subflows
        ],
        subject="Cofre: {{ flow.name }} run {{ flow_run.name }} {{ flow_run.state.name }}",
        body="Flow run {{ flow_run.name }} ({{ flow_run.id }}) of {{ flow.name }} ended "
        "{{ flow_run.state.name }}.\n{{ flow_run.state.message }}",
    ),
    Alert(
        name="cofre-home-busy",
        description="A Cofre run was refused: another run holds its home (not a failure).",
        expect=(events.HOME_BUSY,),
        match={"prefect.resource.id": f"{events.HOME_RESOURCE_PREFIX}*"},
        match_related={},
        subject="Cofre: {{ flow.name }} run {{ flow_run.name }} refused: home busy",
        body="Flow run {{ flow_run.name }} ({{ flow_run.id }}) was refused: another run holds "
        "its Cofre home. Not a failure of the data.\n{{ event.payload.reason }}" + _HOME_LINE,
    ),
)


def require_server() -> str:
    """The Prefect API the automations go to (redacted for display). Raises
    `ConfigurationError` when no server is configured: Prefect's temporary API stops with the
    run that started it, so an automation there would not be there to notify."""
    from prefect.settings import PREFECT_API_URL

    from blocks.runtime.redaction import redact

    url = PREFECT_API_URL.value()
    if not url:
        raise ConfigurationError(
            "Automations live on a Prefect server and none is configured: start one "
            "(`prefect server start`, docs/operations.md), export PREFECT_API_URL, then install "
            "again."
        )
    return redact(url)


def automation_for(alert: Alert, block_document_id: UUID) -> Any:
    """The alert as Prefect's `AutomationCore`: one reactive trigger, one notification."""
    from prefect.automations import AutomationCore, EventTrigger, Posture, SendNotification

    trigger = EventTrigger(
        expect=set(alert.expect),
        match=alert.match,
        match_related=alert.match_related,
        posture=Posture.Reactive,
        threshold=1,
        within=0,
    )
    action = SendNotification(
        block_document_id=block_document_id, subject=alert.subject, body=alert.body
    )
    return AutomationCore(
        name=alert.name,
        description=alert.description,
        enabled=True,
        trigger=trigger,
        actions=[action],
    )


def save_webhook_block(url: str, name: str = DEFAULT_BLOCK) -> UUID:
    """Save (or overwrite) Custom Webhook block `name` posting JSON {subject, body, name} to
    `url`, the URL kept in the block's secret values. Returns its block document id.
    Raises `ConfigurationError` for a URL that is not http(s) (the URL is never shown)."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            "The webhook URL must be an http:// or https:// URL with a host (the value is not "
            "shown: it may hold a token). Check --webhook-url or COFRE_ALERT_WEBHOOK_URL."
        )
    block = CustomWebhookNotificationBlock(
        name=name,
        url="{{" + WEBHOOK_SECRET + "}}",
        json_data={"subject": "{{subject}}", "body": "{{body}}", "name": "{{name}}"},
        secrets={WEBHOOK_SECRET: url},
    )
    return block.save(name, overwrite=True)


def notification_block_id(reference: str) -> UUID:
    """The id of a saved notification block, `<block-type-slug>/<name>` (a bare name is a
    Custom Webhook block). Raises `ConfigurationError` naming what is missing."""
    slug, _, name = reference.rpartition("/")
    slug = slug or WEBHOOK_BLOCK_TYPE
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(name, slug, include_secrets=False)
        except ObjectNotFound:
            raise ConfigurationError(
                f"No notification block {slug}/{name} on the Prefect server. Save one (UI: "
                "Blocks, or `cofre automations install --webhook-url ...`), then pass "
                "--block <type-slug>/<name>, e.g. slack-webhook/ops."
            ) from None
        capabilities = document.block_schema.capabilities if document.block_schema else []
    if "notify" not in capabilities:
        raise ConfigurationError(
            f"Block {slug}/{name} is not a notification block (it cannot notify); pass a "
            "Slack, e-mail, Teams, Custom Webhook ... block with --block."
        )
    return document.id


def install_automations(block_document_id: UUID) -> list[tuple[str, str]]:
    """Create or update every Cofre automation to notify through the block; returns
    [(name, "created" | "updated")]. Extra copies of a name (made by hand) are removed."""
    done = []
    with _client() as client:
        for alert in ALERTS:
            automation = automation_for(alert, block_document_id)
            existing = client.read_automations_by_name(alert.name)
            if existing:
                client.update_automation(existing[0].id, automation)
                for duplicate in existing[1:]:
                    client.delete_automation(duplicate.id)
                done.append((alert.name, "updated"))
            else:
                client.create_automation(automation)
                done.append((alert.name, "created"))
    return done


def cofre_automations() -> list[Any]:
    """Every automation on the server whose name starts with `cofre-`, by name."""
    with _client() as client:
        found = client.read_automations()
    return sorted((a for a in found if a.name.startswith(AUTOMATION_PREFIX)), key=lambda a: a.name)


def remove_automations() -> list[str]:
    """Delete every Cofre automation (the notification block stays); returns their names."""
    found = cofre_automations()
    with _client() as client:
        for automation in found:
            client.delete_automation(automation.id)
    return [a.name for a in found]


@contextmanager
def _client() -> Iterator[Any]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        yield client
