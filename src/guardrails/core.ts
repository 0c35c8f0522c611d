/**
 * Guardrails' pure core (design.md §4g): the deactivation hold's settings and words, and the
 * connection-health state machine. No `env`, no I/O: unit-tested in test/unit/guardrails.test.ts.
 */
import { z } from "zod";

const PROVIDER_LABELS: Record<string, string> = {
  okta: "Okta",
  entra: "Entra ID",
  onelogin: "OneLogin",
  jumpcloud: "JumpCloud",
  google: "Google Workspace",
  generic: "the identity provider",
};

export function providerName(provider: string | null | undefined): string {
  return (provider && PROVIDER_LABELS[provider]) || provider || "the identity provider";
}

/** `PUT /admin/v1/tenants/{slug}/guard`. */
export const guardSettingsInput = z
  .object({
    enabled: z.boolean().default(true).describe("Off: deactivations are never held (one already held stays held until released)."),
    threshold: z.number().int().min(1).max(1_000_000).default(50).describe("Users: the guard trips above the larger of this and `percent`."),
    percent: z.number().int().min(1).max(100).default(10).describe("% of the active users before the wave."),
    windowMinutes: z.number().int().min(1).max(1440).default(10).describe("The window deactivations and deletions are counted over (at most a day)."),
  })
  .strict();
export type GuardSettingsInput = z.infer<typeof guardSettingsInput>;

/** How many deactivations a window lets through before the guard trips: the larger of the two. */
export function holdLimit(settings: { threshold: number; percent: number }, activeBeforeWave: number): number {
  return Math.max(settings.threshold, Math.floor((activeBeforeWave * settings.percent) / 100));
}

export function trippedDetail(provider: string): string {
  return (
    `Deactivation hold tripped: more deactivations and deletions from ${providerName(provider)} than the guard allows in its window. ` +
    "Further ones are applied to the directory and answered as usual, but TheStorage's app keeps those users active until an admin releases them (Settings › User Provisioning)."
  );
}

function duration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return "under a minute";
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.round(minutes / 60);
  return `${hours} hours`;
}

/** The banner: "Held: 214 deactivations from Okta in 3 minutes". */
export function heldBanner(held: { users: number; firstAt: string | null; lastAt: string | null }, provider: string | null | undefined): string {
  const span = held.firstAt && held.lastAt ? ` in ${duration(Date.parse(held.lastAt) - Date.parse(held.firstAt))}` : "";
  return `Held: ${held.users} deactivation${held.users === 1 ? "" : "s"} from ${providerName(provider)}${span}`;
}
