/**
 * The Durable Object that runs a tenant move (src/placement/mover.ts), one object per move. Each
 * alarm runs steps until its budget is spent (well inside 1,000 D1 queries and a few seconds), then
 * sets the next alarm: no invocation meets a platform limit however large the tenant. An alarm
 * that dies with its process is retried by the platform, and the move's state lives in CONTROL_DB,
 * so a restarted object carries on from the last recorded step. The minute cron re-arms the object
 * of any move that has not advanced for a while (src/placement/service.ts `resumeStalledMoves`).
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { runStep } from "./mover";

/** D1 queries one alarm may spend (the platform allows 1,000 per invocation). */
const QUERY_BUDGET = 700;
/** The most one step uses (a frozen step: freeze triggers, a catch-up chunk, the comparison). */
const LARGEST_STEP = 200;
const TIME_BUDGET_MS = 10_000;

export class PlacementMover extends DurableObject<Env> {
  /** Starts (or re-arms) the move; idempotent. */
  async start(moveId: string): Promise<void> {
    await this.ctx.storage.put("move", moveId);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }

  /** Runs up to `maxSteps` steps now, as one alarm would (tests, and the CLI's wait). */
  async run(maxSteps = Number.POSITIVE_INFINITY): Promise<number | null> {
    const moveId = await this.ctx.storage.get<string>("move");
    if (!moveId) return null;
    const started = Date.now();
    let queries = 0;
    let steps = 0;
    let next: number | null = 0;
    while (next === 0 && steps < maxSteps && queries + LARGEST_STEP <= QUERY_BUDGET && Date.now() - started < TIME_BUDGET_MS) {
      const result = await runStep(this.env, moveId);
      queries += result.queries;
      steps += 1;
      next = result.nextInMs;
    }
    return next;
  }

  override async alarm(): Promise<void> {
    const next = await this.run();
    if (next === null) {
      if ((await this.ctx.storage.get<string>("move")) !== undefined) await this.ctx.storage.deleteAll();
      return;
    }
    await this.ctx.storage.setAlarm(Date.now() + next);
  }
}
