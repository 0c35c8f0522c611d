// The admin API's OpenAPI document (/admin/v1/openapi.json) describes exactly the routes the app
// serves, requests built from it succeed, and the console renders it at /admin/api.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { honoPath } from "../../src/routes/admin/openapi";
import { admin, ADMIN_TOKEN, oktaUser, ORIGIN, scimTenant, uniqueSlug } from "../support/harness";

const BASE = "/admin/v1";
const METHODS = ["get", "post", "put", "patch", "delete"];

async function documentOf(): Promise<any> {
  const res = await admin("GET", "/openapi.json");
  expect(res.status).toBe(200);
  return res.body;
}

function operations(doc: any): { method: string; path: string; operation: any }[] {
  return Object.entries(doc.paths as Record<string, any>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, operation: item[method] })),
  );
}

function resolve(doc: any, schema: any): any {
  return schema?.$ref ? doc.components.schemas[schema.$ref.split("/").pop()] : schema;
}

/** Checks `value` against the documented schema's shape: required fields present, arrays' items, nested objects. */
function conforms(doc: any, schema: any, value: any, at = "body"): string[] {
  const s = resolve(doc, schema);
  if (!s) return [];
  if (s.anyOf) return s.anyOf.some((alt: any) => conforms(doc, alt, value, at).length === 0) ? [] : [`${at}: matches no alternative`];
  if (value === null) return (Array.isArray(s.type) ? s.type.includes("null") : s.type === "null") || s.nullable ? [] : [`${at}: null`];
  if (s.type === "array") return Array.isArray(value) ? value.flatMap((v: any, i: number) => conforms(doc, s.items, v, `${at}[${i}]`)) : [`${at}: not an array`];
  if (s.type === "object" || s.properties) {
    if (typeof value !== "object" || Array.isArray(value)) return [`${at}: not an object`];
    const missing = (s.required ?? []).filter((k: string) => !(k in value)).map((k: string) => `${at}.${k}: missing`);
    return [...missing, ...Object.entries(s.properties ?? {}).flatMap(([k, p]) => (k in value ? conforms(doc, p, value[k], `${at}.${k}`) : []))];
  }
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  const actual = Number.isInteger(value) ? ["integer", "number"] : [typeof value];
  if (types.length && !types.some((t) => actual.includes(t))) return [`${at}: ${JSON.stringify(value)} is not ${types.join(" | ")}`];
  if (s.enum && !s.enum.includes(value)) return [`${at}: ${JSON.stringify(value)} is not one of ${s.enum.join(", ")}`];
  return [];
}

describe("OpenAPI document", () => {
  it("lists every admin API route the app serves, and only those", async () => {
    const doc = await documentOf();
    const documented = operations(doc)
      .map((o) => `${o.method.toUpperCase()} ${BASE}${honoPath(o.path)}`)
      .sort();
    const served = [
      ...new Set(
        createApp()
          .routes.filter((r) => r.path.startsWith(`${BASE}/`) && r.method !== "ALL" && r.path !== `${BASE}/openapi.json`)
          .map((r) => `${r.method} ${r.path}`),
      ),
    ].sort();
    expect(served.length).toBeGreaterThan(10);
    expect(documented).toEqual(served);
  });

  it("documents every operation with a summary, the admin security scheme and its error answers", async () => {
    const doc = await documentOf();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: `${ORIGIN}${BASE}` }]);
    expect(doc.components.securitySchemes.adminToken).toMatchObject({ type: "http", scheme: "bearer" });
    for (const { method, path, operation } of operations(doc)) {
      expect(operation.summary, `${method} ${path}`).toBeTruthy();
      expect(operation.security, `${method} ${path}`).toEqual([{ adminToken: [] }]);
      expect(Object.keys(operation.responses), `${method} ${path}`).toContain("401");
    }
  });

  it("GET operations taking only {slug} (or nothing) answer 2xx with the documented shape for a real tenant", async () => {
    const doc = await documentOf();
    const tenant = await scimTenant();
    const user = await tenant.scim("POST", "/Users", oktaUser());
    expect(user.status).toBe(201);
    expect((await tenant.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Team", members: [{ value: user.body.id }] })).status).toBe(201);

    const gets = operations(doc).filter(
      ({ method, operation }) =>
        method === "get" &&
        (operation.parameters ?? []).every((p: any) => (p.in === "path" ? p.name === "slug" : p.required !== true)),
    );
    expect(gets.map((g) => g.path)).toEqual(expect.arrayContaining(["/tenants", "/tenants/{slug}", "/tenants/{slug}/users", "/tenants/{slug}/groups", "/tenants/{slug}/events", "/tenants/{slug}/changes"]));
    // GET …/sso answers 404 until a sign-in connection is saved (design.md §4e); test/integration/sso-oidc.test.ts covers its 200.
    for (const { path, operation } of gets.filter((g) => g.path !== "/tenants/{slug}/sso")) {
      const res = await admin("GET", path.replace("{slug}", tenant.slug));
      expect(res.status, `GET ${path}: ${res.text}`).toBeGreaterThanOrEqual(200);
      expect(res.status, `GET ${path}: ${res.text}`).toBeLessThan(300);
      // A non-JSON answer (the users CSV export) must be documented under its own media type.
      const mediaType = res.headers.get("Content-Type")!.split(";")[0]!;
      if (mediaType !== "application/json") {
        expect(operation.responses[String(res.status)]?.content?.[mediaType], `GET ${path} documents its ${res.status} as ${mediaType}`).toBeDefined();
        continue;
      }
      const schema = operation.responses[String(res.status)]?.content?.["application/json"]?.schema;
      expect(schema, `GET ${path} documents its ${res.status}`).toBeDefined();
      expect(conforms(doc, schema, res.body), `GET ${path}`).toEqual([]);
    }
  });

  it("POST /tenants built from the documented example creates the tenant; SCIM switches on with its example", async () => {
    const doc = await documentOf();
    const create = doc.paths["/tenants"].post;
    const example = resolve(doc, create.requestBody.content["application/json"].schema).example;
    expect(example.slug).toBeTruthy();
    const created = await admin("POST", "/tenants", example);
    expect(created.status, created.text).toBe(201);
    expect(conforms(doc, create.responses["201"].content["application/json"].schema, created.body)).toEqual([]);

    const enable = doc.paths["/tenants/{slug}/scim"].post;
    const body = resolve(doc, enable.requestBody.content["application/json"].schema).example;
    const enabled = await admin("POST", `/tenants/${example.slug}/scim`, body);
    expect(enabled.status, enabled.text).toBe(201);
    expect(conforms(doc, enable.responses["201"].content["application/json"].schema, enabled.body)).toEqual([]);
  });

  it("documents the change feed's query parameters", async () => {
    const doc = await documentOf();
    const params = doc.paths["/tenants/{slug}/changes"].get.parameters.map((p: any) => `${p.in}:${p.name}`);
    expect(params.sort()).toEqual(["path:slug", "query:after", "query:limit", "query:types"]);
  });
});

describe("console API reference (/admin/api)", () => {
  async function signedInCookie(): Promise<string> {
    const body = new URLSearchParams({ token: ADMIN_TOKEN }).toString();
    const res = await exports.default.fetch(
      new Request(`${ORIGIN}/admin/sign-in`, { method: "POST", body, redirect: "manual", headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: ORIGIN } }),
    );
    expect(res.status).toBe(303);
    return res.headers.get("Set-Cookie")!.split(";")[0]!;
  }

  it("needs a session", async () => {
    for (const path of ["/admin/api", "/admin/api/openapi.json"]) {
      const res = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { redirect: "manual" }));
      expect(res.status, path).toBe(303);
      expect(res.headers.get("Location")).toBe("/admin/sign-in");
    }
  });

  it("is for the operator only: a tenant-scoped (setup-link) session gets 403 and no link to it", async () => {
    const slug = uniqueSlug("ref");
    expect((await admin("POST", "/tenants", { slug })).status).toBe(201);
    const link = await admin("POST", `/tenants/${slug}/setup-links`);
    expect(link.status, link.text).toBe(201);
    const redeemed = await exports.default.fetch(new Request(`${ORIGIN}${new URL(link.body.url).pathname}`, { redirect: "manual" }));
    const cookie = redeemed.headers.get("Set-Cookie")!.split(";")[0]!;
    const own = await exports.default.fetch(new Request(`${ORIGIN}/admin/tenants/${slug}/users`, { headers: { Cookie: cookie }, redirect: "manual" }));
    expect(own.status).toBe(200);
    expect(await own.text()).not.toContain('href="/admin/api"');
    for (const path of ["/admin/api", "/admin/api/openapi.json"]) {
      const reference = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { headers: { Cookie: cookie }, redirect: "manual" }));
      expect(reference.status, path).toBe(403);
    }
  });

  it("renders every documented operation server-side, with no external scripts", async () => {
    const doc = await documentOf();
    const res = await exports.default.fetch(new Request(`${ORIGIN}/admin/api`, { headers: { Cookie: await signedInCookie() } }));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
    const html = await res.text();
    for (const { method, path, operation } of operations(doc)) {
      const escapedSummary = operation.summary.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
      expect(html, `${method} ${path}`).toContain(`<code>${BASE}${path}</code>`);
      expect(html, `${method} ${path}`).toContain(escapedSummary);
    }
    expect(html).toContain(">GET</span>");
    expect(html).toContain("slug (path)");
    expect(html).toContain("types (query)");
    // The document link works for the signed-in operator (the admin API's copy needs the bearer token).
    expect(html).toContain('href="/admin/api/openapi.json"');
    const json = await exports.default.fetch(new Request(`${ORIGIN}/admin/api/openapi.json`, { headers: { Cookie: await signedInCookie() } }));
    expect(json.status).toBe(200);
    expect(json.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(await json.json()).toEqual(doc);
    expect(html).toContain('href="/admin/api"'); // the nav link
    for (const name of Object.keys(doc.components.schemas)) expect(html).toContain(`id="schema-${name}"`);
    expect(html).toContain("totalResults: integer"); // inline response objects list their fields
    expect(html).not.toMatch(/<script[^>]+src="(?!\/admin\/assets\/)/);
  });
});
