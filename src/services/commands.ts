/**
 * Writes to an existing resource, as messages to the ScimWriter Durable Object that owns that
 * resource (`tenant:type:id`). The DO runs them one at a time; D1's version guard stays the arbiter.
 */
import type { Env } from "../env";
import type { Actor } from "../lib/hono";
import { ApiError, type SerializedApiError } from "../scim/errors";
import type { StorageMeter } from "../lib/storage-meter";
import { unauthorized, type CopyProbe, type WriteVia } from "../tenancy/request-storage";
import { tenantD1, type TenantRef } from "../tenancy/tenant-db";
import { deleteGroup, patchGroup, replaceGroup } from "./groups";
import { deleteUser, patchUser, replaceUser, setAvatar } from "./users";
import type { WriteContext } from "./write-context";

export type WriteCommand =
  | { kind: "user.replace"; id: string; body: Record<string, unknown>; ifMatch?: string }
  | { kind: "user.patch"; id: string; body: Record<string, unknown>; ifMatch?: string }
  | { kind: "user.delete"; id: string; ifMatch?: string }
  | { kind: "user.avatar"; id: string; avatarUrl: string | null }
  | { kind: "group.replace"; id: string; body: Record<string, unknown>; ifMatch?: string }
  // `answer`: the status the client gets on success (204 unless it asked for a representation), for the log.
  | { kind: "group.patch"; id: string; body: Record<string, unknown>; ifMatch?: string; answer?: 200 | 204 }
  | { kind: "group.delete"; id: string; ifMatch?: string };

/**
 * Errors cross the RPC boundary as data: Workers RPC keeps only an Error's name and message.
 * `roundTrips`: the D1 round trips the Durable Object made, for the request's Server-Timing.
 */
export type WriteOutcome = ({ ok: true; value: unknown } | { ok: false; error: SerializedApiError }) & { roundTrips?: number };

export async function executeCommand(ctx: WriteContext, command: WriteCommand): Promise<unknown> {
  switch (command.kind) {
    case "user.replace":
      return replaceUser(ctx, command.id, command.body, command.ifMatch);
    case "user.patch":
      return patchUser(ctx, command.id, command.body, command.ifMatch);
    case "user.delete":
      return deleteUser(ctx, command.id, command.ifMatch);
    case "user.avatar":
      return setAvatar(ctx, command.id, command.avatarUrl);
    case "group.replace":
      return replaceGroup(ctx, command.id, command.body, command.ifMatch);
    case "group.patch":
      return patchGroup(ctx, command.id, command.body, command.ifMatch, command.answer);
    case "group.delete":
      return deleteGroup(ctx, command.id, command.ifMatch);
  }
}

function resourceKey(tenant: TenantRef, command: WriteCommand): string {
  return `${tenant.id}:${command.kind.split(".")[0]}:${command.id}`;
}

/**
 * Sends `command` to the Durable Object of its resource and unwraps the outcome. From a SCIM
 * request (`via`): the call is metered, and when the token is still unverified, the object gets
 * the credential to check in its own batches while the Worker checks it alongside, answering 401
 * as soon as that check fails (the object's guarded write changes nothing either way).
 */
export async function runWrite<T>(env: Env, tenant: TenantRef, actor: Actor, command: WriteCommand, via: WriteVia = {}): Promise<T> {
  const stub = env.SCIM_WRITER.getByName(resourceKey(tenant, command));
  const gate = via.gate?.state === "pending" ? via.gate : null;
  const send = () => stub.execute(tenant, actor, command, gate?.credential) as Promise<WriteOutcome>;
  const call = via.meter ? via.meter.track(send, (outcome) => outcome.roundTrips ?? 0) : send();
  // A cold request (token just verified in CONTROL_DB) asks whether its copy exists alongside the
  // writer call (same round trip), so the isolate remembers the token after writes as after reads.
  const statement = via.probe?.take(tenantD1(env, tenant));
  const asked = statement && via.probe ? askCopy(via.probe, statement, via.meter) : null;
  let outcome: WriteOutcome;
  if (gate) {
    call.catch(() => {}); // answered by the check below if that fails first
    outcome = await Promise.race([call, gate.check().then((live) => (live ? call : Promise.reject(unauthorized())))]);
  } else {
    outcome = await call;
  }
  await asked;
  if (!outcome.ok) throw ApiError.from(outcome.error);
  return outcome.value as T;
}

/** Runs the copy probe (metered, alongside the writer call); a failed probe only leaves the isolate cold. */
function askCopy(probe: CopyProbe, statement: D1PreparedStatement, meter?: StorageMeter): Promise<void> {
  const ask = () => statement.all().then((result) => probe.read(result));
  return (meter ? meter.track(ask) : ask()).catch(() => {});
}
