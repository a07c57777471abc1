"""NATS users and subject permissions, generated from the subject catalogue.

Why generated: every partition of every feed is a durable consumer of its own,
and NATS wildcards match whole tokens only, so the grants are long and exact.
They follow from ``events/subjects.py`` (``FEEDS``, the stream names) and the
partition count; ``lantern up`` writes them for its embedded server, and
``deploy/nats/permissions.conf`` is this output for the default deployment
(a test keeps the two in step: ``lantern deploy nats-permissions``).

Users, and what each may do:

* a service (``intake``, ``dispatch``, ``followup``, ``records``) publishes its
  own events, audit entries and inbox messages, its integrity anchors and dead
  letters, and its lease keys; it uses the JetStream API only to read the
  stream information and messages it needs and to create and pull its own
  durable consumers.  It cannot create, change, purge or delete any stream:
  ``lantern up`` (or ``lantern deploy apply``) provisions them as the operator.
  It answers requests (``allow_responses``) instead of publishing to inboxes.
* ``console``: people's commands, and ephemeral ordered consumers on the
  service streams (``services/console``).
* ``client``: commands only (publish ``<prefix>.cmd.>``); the CLI, scripts and
  integrators' command senders.
* ``integrator``: read only: ephemeral ordered consumers on the three service
  streams; it publishes nothing but JetStream read requests and flow control.
* ``operator``: everything (provisioning, the operator's tools).

Every user but the operator subscribes only to its own reply inboxes,
``_INBOX_<user>.>``, and connects with ``inbox_prefix="_INBOX_<user>"``
(``plumbing/messaging/natsurl.py``); nobody may subscribe to ``_INBOX.>``, so
no user reads another's replies.
"""

from __future__ import annotations

from events.subjects import FEEDS, RECORDS, SERVICES, Subjects

USERS = (
    "intake",
    "dispatch",
    "followup",
    "records",
    "console",
    "client",
    "integrator",
    "operator",
)


def inbox(user: str) -> str:
    """The only reply inboxes ``user`` may subscribe to."""
    return f"_INBOX_{user}.>"


def service_grants(subjects: Subjects, service: str) -> list[str]:
    p, api = subjects.prefix, "$JS.API"
    bucket = subjects.leases_bucket
    kv_stream = f"KV_{bucket}"
    grants = [
        f"{p}.evt.{service}.>",
        f"{p}.audit.{service}.>",
        f"{p}.inbox.{service}.>",
        f"{p}.integrity.{service}",
        f"{p}.dlq.{service}.>",
        f"$KV.{bucket}.{service}.>",
        f"{api}.INFO",
        f"{api}.STREAM.INFO.{kv_stream}",
        f"{api}.STREAM.MSG.GET.{kv_stream}",
        f"{api}.DIRECT.GET.{kv_stream}.>",
        f"{api}.STREAM.INFO.{subjects.integrity_stream}",
        f"{api}.STREAM.MSG.GET.{subjects.integrity_stream}",
        f"{api}.STREAM.INFO.{subjects.dlq_stream(service)}",
        f"{api}.STREAM.MSG.GET.{subjects.dlq_stream(service)}",
    ]
    if service in SERVICES:
        own = subjects.stream(service)
        grants += [f"{api}.STREAM.INFO.{own}", f"{api}.STREAM.MSG.GET.{own}"]
    for consumer, feed, upstream, _ in FEEDS:
        if consumer != service:
            continue
        stream = subjects.stream(upstream)
        grants.append(f"{api}.STREAM.INFO.{stream}")
        for partition in range(subjects.partitions):
            durable = f"{feed}-p{partition}"
            grants += [
                f"{api}.CONSUMER.CREATE.{stream}.{durable}",
                f"{api}.CONSUMER.CREATE.{stream}.{durable}.>",
                f"{api}.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
                f"{api}.CONSUMER.INFO.{stream}.{durable}",
                f"{api}.CONSUMER.MSG.NEXT.{stream}.{durable}",
                f"$JS.ACK.{stream}.{durable}.>",
            ]
    if service == "followup":  # renewed risk found at a check-in is reported to intake
        grants.append(subjects.report_incident)
    if service == "dispatch":  # a responder's calendar feed asks follow-up for their check-ins
        grants.append(subjects.command("followup", "list_plans"))
    return list(dict.fromkeys(grants))


def follow_grants(subjects: Subjects) -> list[str]:
    """Following the service streams through ephemeral ordered consumers, and nothing more.

    ``$JS.API.CONSUMER.CREATE.<stream>`` (no consumer name) creates only
    ephemeral consumers: the server refuses a durable name on it.  Flow control
    replies (``$JS.FC.>``) are how an ordered consumer keeps its pace.
    """
    api = "$JS.API"
    grants = ["$JS.FC.>", f"{api}.INFO"]
    for service in SERVICES:
        stream = subjects.stream(service)
        grants += [
            f"{api}.STREAM.INFO.{stream}",
            f"{api}.CONSUMER.CREATE.{stream}",
            f"{api}.CONSUMER.INFO.{stream}.*",
        ]
    return grants


def console_grants(subjects: Subjects) -> list[str]:
    """The web console: sends people's commands (each with the person's own token), follows
    every service stream through ephemeral ordered consumers, reads the integrity anchors.
    It publishes no events and creates no durable consumer."""
    api = "$JS.API"
    return [
        f"{subjects.prefix}.cmd.>",
        *follow_grants(subjects),
        f"{api}.STREAM.INFO.{subjects.integrity_stream}",
        f"{api}.STREAM.MSG.GET.{subjects.integrity_stream}",
    ]


def _user(
    comment: str, user: str, publish: list[str], subscribe: list[str], *, responses: bool = False
) -> list[str]:
    """One user's block; ``responses``: may answer the requests it receives, once each."""
    quoted = ", ".join(f'"{g}"' for g in subscribe)
    return [
        "    {",
        *([f"      # {comment}"] if comment else []),
        f"      user: {user}",
        f"      password: $LANTERN_NATS_{user.upper()}_PASSWORD",
        "      permissions: {",
        "        publish: { allow: [",
        ",\n".join(f'          "{g}"' for g in publish),
        "        ] }",
        f"        subscribe: {{ allow: [{quoted}] }}",
        *(["        allow_responses: true"] if responses else []),
        "      }",
        "    }",
    ]


def render(subjects: Subjects) -> str:
    lines = [
        "# Per-service NATS users and subject permissions: generated by",
        f"# `lantern deploy nats-permissions` (prefix {subjects.prefix!r}, "
        f"{subjects.partitions} partitions); do not edit by hand.",
        "# Passwords come from the server's environment (LANTERN_NATS_<USER>_PASSWORD).",
        "",
        "authorization {",
        "  users = [",
    ]
    for service in (*SERVICES, RECORDS):
        own_commands = f"{subjects.prefix}.cmd.{service}.>"
        lines += _user(
            "",
            service,
            service_grants(subjects, service),
            [own_commands, inbox(service)],
            responses=True,
        )
    lines += _user(
        "the web console (services/console)",
        "console",
        console_grants(subjects),
        [inbox("console")],
    )
    lines += _user(
        "people and tools: commands only (request-reply to <prefix>.cmd.>)",
        "client",
        [f"{subjects.prefix}.cmd.>"],
        [inbox("client")],
    )
    lines += _user(
        "integrators: read only, ephemeral ordered consumers on the service streams",
        "integrator",
        follow_grants(subjects),
        [inbox("integrator")],
    )
    lines += [
        "    {",
        "      # operators: provisioning (lantern up, lantern deploy apply) and their tools",
        "      user: operator",
        "      password: $LANTERN_NATS_OPERATOR_PASSWORD",
        "    }",
        "  ]",
        "}",
        "",
    ]
    return "\n".join(lines)
