/**
 * One instance per SCIM resource (`tenant:type:id`). D1 I/O from a Durable Object does not hold its
 * input gate, so concurrent calls would interleave across awaits; a promise chain runs them one at
 * a time instead. D1's version guard remains the arbiter should two instances ever coexist.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type { Actor } from "../lib/hono";
import { ApiError } from "../scim/errors";
import { executeCommand, type WriteCommand, type WriteOutcome } from "../services/commands";
import { tenantDb, type TenantRef } from "../tenancy/tenant-db";

export class ScimWriter extends DurableObject<Env> {
  #tail: Promise<unknown> = Promise.resolve();

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => {});
    return run;
  }

  async execute(tenant: TenantRef, actor: Actor, command: WriteCommand): Promise<WriteOutcome> {
    return this.#exclusive(async () => {
      try {
        const value = await executeCommand({ db: tenantDb(this.env, tenant), tenant, actor }, command);
        return { ok: true, value } as const;
      } catch (error) {
        if (error instanceof ApiError) return { ok: false, error: error.toJSON() } as const;
        throw error;
      }
    });
  }
}
