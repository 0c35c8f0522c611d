// The admin authentication throttle (design.md §4c): after 10 failures from one client IP within
// 10 minutes, every attempt from that IP answers 429 with Retry-After, right credentials included,
// across the admin API bearer, console sign-in and setup-link redemption. Other IPs are unaffected.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { send } from "../support/console-session";
import { admin, ADMIN_TOKEN, randomIp, uniqueSlug } from "../support/harness";

// Without `ip`, no CF-Connecting-IP header: the shared bucket of such requests.
const bearer = (token: string, ip?: string) => send("GET", "/admin/v1/tenants", { ip: ip ?? null, headers: { Authorization: `Bearer ${token}` } });

function expectRetryAfter(headers: Headers, max = 600): number {
  const value = headers.get("Retry-After");
  expect(value).toMatch(/^\d+$/);
  const seconds = Number(value);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(max);
  return seconds;
}

/** Failures from `ip` that happened `ages` ms ago, counted by the IP's throttle object itself. */
async function insertFailures(ip: string, ages: number[]) {
  const counter = env.AUTH_THROTTLE.get(env.AUTH_THROTTLE.idFromName(ip));
  for (const ageMs of ages) await counter.fail(Date.now() - ageMs);
}

describe("admin API bearer", () => {
  it("answers the 11th wrong token from one IP with 429 and Retry-After, the right token too; another IP is unaffected", async () => {
    const ip = randomIp();
    for (let i = 0; i < 10; i++) expect((await bearer(`wrong-${i}`, ip)).status).toBe(401);
    const eleventh = await bearer("wrong-again", ip);
    expect(eleventh.status).toBe(429);
    expect(eleventh.headers.get("Content-Type")).toBe("application/problem+json");
    expectRetryAfter(eleventh.headers);
    const right = await bearer(ADMIN_TOKEN, ip);
    expect(right.status).toBe(429);
    expectRetryAfter(right.headers);
    const other = randomIp();
    expect((await bearer("wrong", other)).status).toBe(401);
    expect((await bearer(ADMIN_TOKEN, other)).status).toBe(200);
  });

  it("counts a concurrent burst atomically: of 200 wrong tokens at once, at most 10 get 401, the rest 429 with an integer Retry-After", async () => {
    const ip = randomIp();
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => bearer(`wrong-${i}`, ip)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401).length).toBe(10);
    expect(statuses.filter((s) => s === 429).length).toBe(190);
    for (const a of answers.filter((a) => a.status === 429)) expectRetryAfter(a.headers);
    expect((await bearer(ADMIN_TOKEN, ip)).status).toBe(429);
    expect((await bearer(ADMIN_TOKEN, randomIp())).status).toBe(200);
  });

  it("counts only the last 10 minutes, and Retry-After is when the oldest failure leaves the window", async () => {
    const stale = randomIp();
    await insertFailures(stale, Array.from({ length: 12 }, () => 11 * 60_000));
    expect((await bearer(ADMIN_TOKEN, stale)).status).toBe(200);

    const recent = randomIp();
    // Oldest 9 minutes ago: it leaves the window in about 60 s.
    await insertFailures(recent, [9 * 60_000, ...Array.from({ length: 9 }, () => 60_000)]);
    const res = await bearer(ADMIN_TOKEN, recent);
    expect(res.status).toBe(429);
    const seconds = expectRetryAfter(res.headers);
    expect(seconds).toBeGreaterThanOrEqual(50);
    expect(seconds).toBeLessThanOrEqual(60);
  });

  it("does not count a request that presents no credentials", async () => {
    const ip = randomIp();
    for (let i = 0; i < 12; i++) expect((await send("GET", "/admin/v1/tenants", { ip })).status).toBe(401);
    expect((await bearer(ADMIN_TOKEN, ip)).status).toBe(200);
  });

  it("puts requests without CF-Connecting-IP in one shared bucket", async () => {
    for (let i = 0; i < 10; i++) expect((await bearer(`wrong-${i}`)).status).toBe(401);
    expect((await bearer(ADMIN_TOKEN)).status).toBe(429);
    expect((await bearer(ADMIN_TOKEN, randomIp())).status).toBe(200);
  });
});

describe("console sign-in and setup links", () => {
  it("throttles console sign-in, records each attempt, and shares the bucket with the admin API", async () => {
    const ip = randomIp();
    for (let i = 0; i < 5; i++) expect((await bearer(`wrong-${i}`, ip)).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await send("POST", "/admin/sign-in", { ip, form: { token: `wrong-${i}` } })).status).toBe(401);
    const right = await send("POST", "/admin/sign-in", { ip, form: { token: ADMIN_TOKEN } });
    expect(right.status).toBe(429);
    expect(right.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(right.headers.get("Set-Cookie")).toBeNull();
    expect(right.text).toContain("Too many failed admin sign-in attempts");
    expectRetryAfter(right.headers);
    const { results } = await env.CONTROL_DB.prepare("SELECT outcome, actor, tenant_slug FROM audit_events WHERE action = 'console.sign_in' AND ip = ?").bind(ip).all<{ outcome: string; actor: string; tenant_slug: string | null }>();
    expect(results).toHaveLength(5);
    expect(results.every((r) => r.outcome === "failure" && r.tenant_slug === null && JSON.parse(r.actor).type === "console")).toBe(true);

    const other = randomIp();
    expect((await send("POST", "/admin/sign-in", { ip: other, form: { token: ADMIN_TOKEN } })).status).toBe(303);
    const ok = await env.CONTROL_DB.prepare("SELECT outcome FROM audit_events WHERE action = 'console.sign_in' AND ip = ?").bind(other).first<{ outcome: string }>();
    expect(ok!.outcome).toBe("success");
  });

  it("shares one atomic budget between concurrent console sign-ins and admin API bearers", async () => {
    const ip = randomIp();
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? bearer(`wrong-${i}`, ip) : send("POST", "/admin/sign-in", { ip, form: { token: `wrong-${i}` } }))),
    );
    expect(answers.filter((a) => a.status === 401).length).toBe(10);
    expect(answers.filter((a) => a.status === 429).length).toBe(50);
    const { results } = await env.CONTROL_DB.prepare("SELECT count(*) AS n FROM audit_events WHERE action = 'console.sign_in' AND ip = ?").bind(ip).all<{ n: number }>();
    expect(results[0]!.n).toBeLessThanOrEqual(10);
  });

  it("counts unknown setup links as failures and then refuses a valid link from that IP without using it up", async () => {
    const slug = uniqueSlug("thr");
    const operatorIp = { "CF-Connecting-IP": randomIp() };
    expect((await admin("POST", "/tenants", { slug }, operatorIp)).status).toBe(201);
    const link = await admin("POST", `/tenants/${slug}/setup-links`, {}, operatorIp);
    const path = new URL(link.body.url).pathname;
    const ip = randomIp();
    for (let i = 0; i < 10; i++) {
      const secret = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      expect((await send("GET", `/admin/setup/${secret}`, { ip })).status).toBe(404);
    }
    const refused = await send("GET", path, { ip });
    expect(refused.status).toBe(429);
    expectRetryAfter(refused.headers);
    expect(refused.headers.get("Set-Cookie")).toBeNull();
    const elsewhere = await send("GET", path, { ip: randomIp() });
    expect(elsewhere.status).toBe(303);
  });
});
