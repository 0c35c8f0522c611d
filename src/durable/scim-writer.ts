/**
 * One instance per SCIM resource (`tenant:type:id`). D1 I/O from a Durable Object does not hold its
 * input gate, so concurrent calls would interleave across awaits; a promise chain runs them one at
 * a time instead. D1's version guard remains the arbiter should two instances ever coexist.
 *
 * It remembers its resource's current row (ResourceMemory): after the first write, a write computes
 * from memory and commits in one D1 batch, guarded by the row's version (a miss re-reads and
 * retries). The memory is also kept in the object's own storage, which lives with the object (no
 * network round trip), so it survives the object being evicted between an IdP's pushes. When the request's token was not verified yet, the Worker sends its credential and every
 * batch here carries the token check (src/tenancy/request-storage.ts), so a refused token changes
 * nothing. Each answer says how many D1 round trips it took, for the request's Server-Timing.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type { Actor } from "../lib/hono";
import { StorageMeter } from "../lib/storage-meter";
import { rolesOf } from "../roles/config";
import { ApiError } from "../scim/errors";
import { executeCommand, type WriteCommand, type WriteOutcome } from "../services/commands";
import type { ResourceMemory } from "../services/write-context";
import { RESUME_AFTER_MS, resumePush, type PushChunk, type PushJournal, type PushState } from "../services/group-push";
import { RequestD1, TokenGate, type TokenCredential } from "../tenancy/request-storage";
import { tenantD1, tenantDb, type TenantRef } from "../tenancy/tenant-db";

/** Storage keys of a large push's plan (one push at a time per object). */
const PUSH_STATE_KEY = "push:state";
const PUSH_CHUNK_KEY = "push:chunk:";

export class ScimWriter extends DurableObject<Env> {
  #tail: Promise<unknown> = Promise.resolve();
  /** Keyed by tenant id: the object's name says which resource, the tenant travels with each call. */
  #memory = new Map<string, ResourceMemory>();

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => {});
    return run;
  }

  async #recall(tenantId: string): Promise<ResourceMemory> {
    let memory = this.#memory.get(tenantId);
    if (!memory) {
      memory = (await this.ctx.storage.get<ResourceMemory>(tenantId)) ?? {};
      this.#memory.set(tenantId, memory);
    }
    return memory;
  }

  /**
   * Written behind the answer, which does not wait for it (allowUnconfirmed): the memory is a cache
   * whose loss costs one read, never a wrong write, so the answer need not be held for its durability.
   */
  #keep(tenantId: string, memory: ResourceMemory): void {
    const options = { allowUnconfirmed: true };
    const kept = memory.user || memory.group ? this.ctx.storage.put(tenantId, { user: memory.user, group: memory.group }, options) : this.ctx.storage.delete(tenantId, options);
    kept.catch(() => this.#memory.delete(tenantId));
  }

  /** A large push's plan (services/group-push.ts), in the object's own storage. */
  readonly #journal: PushJournal = {
    save: async (state, chunks) => {
      const entries = chunks.map((chunk, i) => [`${PUSH_CHUNK_KEY}${i}`, chunk] as const);
      for (let i = 0; i < entries.length; i += 100) await this.ctx.storage.put(Object.fromEntries(entries.slice(i, i + 100)));
      // The state last: its presence means the whole plan is there.
      await this.ctx.storage.put(PUSH_STATE_KEY, state);
      await this.ctx.storage.setAlarm(Date.now() + RESUME_AFTER_MS);
    },
    load: async () => {
      // The object's storage keeps recent reads in memory: this costs no I/O on most writes.
      const state = await this.ctx.storage.get<PushState>(PUSH_STATE_KEY);
      if (!state) return null;
      return { state, chunk: async (i) => (await this.ctx.storage.get<PushChunk>(`${PUSH_CHUNK_KEY}${i}`))! };
    },
    clear: async () => {
      const state = await this.ctx.storage.get<PushState>(PUSH_STATE_KEY);
      const keys = [PUSH_STATE_KEY, ...Array.from({ length: state?.chunks ?? 0 }, (_, i) => `${PUSH_CHUNK_KEY}${i}`)];
      for (let i = 0; i < keys.length; i += 128) await this.ctx.storage.delete(keys.slice(i, i + 128));
      await this.ctx.storage.deleteAlarm();
    },
    resumeSoon: async () => {
      await this.ctx.storage.setAlarm(Date.now());
    },
  };

  /** Finishes a push its request left unfinished (the object died, or a chunk kept failing). */
  async #resumePush(): Promise<void> {
    const tenant = await resumePush(this.#journal, (ref) => tenantDb(this.env, ref));
    const memory = tenant && this.#memory.get(tenant.id);
    if (memory) memory.group = undefined; // the push moved the group's version
  }

  override async alarm(): Promise<void> {
    // A failure throws: the runtime retries the alarm with backoff.
    await this.#exclusive(() => this.#resumePush());
  }

  async execute(tenant: TenantRef, actor: Actor, command: WriteCommand, credential?: TokenCredential): Promise<WriteOutcome> {
    return this.#exclusive(async () => {
      const meter = new StorageMeter();
      const gate = credential ? new TokenGate(credential, tenantD1(this.env, tenant), meter) : null;
      const db = tenantDb(this.env, tenant, (binding) => new RequestD1(binding, meter, gate).asD1());
      try {
        // A push left unfinished comes first: this write is computed from its result.
        await this.#resumePush();
      } catch (error) {
        if (error instanceof ApiError) return { ok: false, error: error.toJSON(), roundTrips: meter.summary().roundTrips } as const;
        throw error;
      }
      const memory = await this.#recall(tenant.id);
      const before = { ...memory };
      try {
        const value = await executeCommand({ db, tenant, actor, memory, journal: this.#journal, roles: rolesOf(this.env) }, command);
        return { ok: true, value, roundTrips: meter.summary().roundTrips } as const;
      } catch (error) {
        if (error instanceof ApiError) return { ok: false, error: error.toJSON(), roundTrips: meter.summary().roundTrips } as const;
        memory.user = memory.group = undefined; // an unexpected failure: trust nothing remembered
        throw error;
      } finally {
        if (memory.user !== before.user || memory.group !== before.group) this.#keep(tenant.id, memory);
      }
    });
  }
}
