// An outside integrator's client, written from Lantern's published documents only.
//
// Everything it knows about subjects, payloads and replies it reads from the AsyncAPI
// document the services serve (GET /asyncapi.json): which subject reports an incident,
// which carries assignments, which acknowledges, the request schema's required fields,
// and the Lantern-Status reply header.  With the official NATS client for Node.js
// (@nats-io/transport-node) and JetStream (@nats-io/jetstream) it reports an incident,
// waits for the assignment event, and acknowledges it as the assigned responder.
//
// Input (environment): LANTERN_URL (a service's base URL), NATS_URL, LANTERN_PREFIX,
// REPORTER_TOKEN and RESPONDER_TOKEN (bearer tokens, issued out of band with
// `lantern token`), SCHOOL_ID.  Output: one JSON line; exit 1 on any failure.
import { connect, headers } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, DeliverPolicy } from "@nats-io/jetstream";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const prefix = env("LANTERN_PREFIX");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// -- reading the contract ---------------------------------------------------------------------
const asyncapi = await (await fetch(`${env("LANTERN_URL")}/asyncapi.json`)).json();
if (!asyncapi.asyncapi.startsWith("3.")) throw new Error("expected an AsyncAPI 3 document");

const resolve = (ref) =>
  ref.replace(/^#\//, "").split("/").reduce((node, key) => node[key], asyncapi);

/** The subject of a channel, its {prefix} parameter filled in (others become wildcards). */
function subjectOf(channel) {
  return channel.address.replace("{prefix}", prefix).replace(/\{[a-z_]+\}/g, "*");
}

/** The operation Lantern answers (action receive) for a request message title. */
function requestOperation(title) {
  for (const [id, operation] of Object.entries(asyncapi.operations)) {
    if (operation.action !== "receive") continue;
    const channel = resolve(operation.channel.$ref);
    const request = resolve(Object.values(channel.messages)[0].$ref);
    if (request.title === title) {
      const reply = resolve(operation.reply.channel.$ref);
      return { id, channel, request, reply };
    }
  }
  throw new Error(`no operation takes ${title}`);
}

/** The channel Lantern publishes a message title on (action send). */
function eventChannel(title) {
  for (const operation of Object.values(asyncapi.operations)) {
    if (operation.action !== "send") continue;
    const channel = resolve(operation.channel.$ref);
    for (const ref of Object.values(channel.messages)) {
      if (resolve(ref.$ref).title === title) return channel;
    }
  }
  throw new Error(`nothing publishes ${title}`);
}

/** A request body with every required field of the request's schema given. */
function complete(message, values) {
  const schema = resolve(message.payload.$ref);
  const missing = (schema.required || []).filter((field) => !(field in values));
  if (missing.length) throw new Error(`${message.title} also needs ${missing.join(", ")}`);
  for (const field of Object.keys(values)) {
    if (!(field in schema.properties)) throw new Error(`${message.title} has no ${field}`);
  }
  return values;
}

// The reply status travels in a header; its name is the one the reply headers require.
const statusHeader = asyncapi.components.schemas.ReplyHeaders.required[0];

async function call(nc, operation, body, token) {
  const h = headers();
  h.set("Authorization", `Bearer ${token}`);
  const reply = await nc.request(subjectOf(operation.channel), encoder.encode(JSON.stringify(body)), {
    timeout: 10_000,
    headers: h,
  });
  const status = Number(reply.headers?.get(statusHeader));
  const payload = JSON.parse(decoder.decode(reply.data));
  return { status, payload };
}

// -- the conversation -------------------------------------------------------------------------
const nc = await connect({ servers: env("NATS_URL") });
try {
  const report = requestOperation("command.report_incident.v1");
  const acknowledge = requestOperation("command.acknowledge_dispatch.v1");
  const assigned = eventChannel("dispatch.responder_assigned.v1");

  // Follow assignments from now on, before reporting, so none is missed.
  const assignments = subjectOf(assigned);
  const jsm = await jetstreamManager(nc);
  const stream = await jsm.streams.find(assignments);
  const consumer = await jetstream(nc).consumers.get(stream, {
    filter_subjects: assignments,
    deliver_policy: DeliverPolicy.New,
  });
  const messages = await consumer.consume();

  const accepted = await call(
    nc,
    report,
    complete(report.request, {
      school_id: env("SCHOOL_ID"),
      student_ref: "stu-js-1",
      categories: ["acute_distress"],
      risk: "high",
      reporter_id: "js-reporter",
    }),
    env("REPORTER_TOKEN"),
  );
  if (accepted.status !== 201) throw new Error(`report answered ${accepted.status}: ${JSON.stringify(accepted.payload)}`);

  let assignment;
  const deadline = setTimeout(() => messages.stop(), 20_000);
  for await (const m of messages) {
    const event = JSON.parse(decoder.decode(m.data));
    if (event.incident_id === accepted.payload.incident_id) {
      assignment = event;
      break;
    }
  }
  clearTimeout(deadline);
  if (!assignment) throw new Error("no assignment within 20 s");

  const acked = await call(
    nc,
    acknowledge,
    complete(acknowledge.request, {
      dispatch_id: assignment.dispatch_id,
      responder_id: assignment.responder_id,
    }),
    env("RESPONDER_TOKEN"),
  );
  console.log(
    JSON.stringify({
      incident_id: accepted.payload.incident_id,
      report_status: accepted.status,
      assignment_type: assignment.type,
      dispatch_id: assignment.dispatch_id,
      responder_id: assignment.responder_id,
      ack_status: acked.status,
      state: acked.payload.state,
      subjects: [subjectOf(report.channel), assignments, subjectOf(acknowledge.channel)],
    }),
  );
} finally {
  await nc.close();
}
