// Malformed admin API requests generated from the OpenAPI document (/admin/v1/openapi.json): odd
// path parameters, odd query values, broken and wrongly typed bodies for every documented
// operation. None may answer 5xx; every refusal is RFC 9457 problem details (issue 23 §3).
import { describe, expect, it } from "vitest";
import { admin, ADMIN_TOKEN, oktaUser, request, scimTenant, type JsonResponse } from "../support/harness";

const ODD_STRINGS = ["x".repeat(5000), "%00", "..%2F..%2Fetc", "%FF%FE", "ü🙂"];
const ODD_QUERY_VALUES = ["1e20", "9223372036854775808", "-1", "NaN", "", "%00", "x".repeat(3000), "[]"];
const ODD_BODIES = ["{", "[]", "null", "5", '"text"', `{"a":${"[".repeat(5000)}${"]".repeat(5000)}}`, "\u0000"];
const WRONG_VALUES: unknown[] = [5, -1e20, true, null, ["x"], { nested: { deeper: [1] } }, " ", "\u0000", "n".repeat(5000)];
/** 900,000 characters: under the 1 MB body limit, far over any field's. Sent once per property. */
const HUGE = "n".repeat(900_000);

interface Operation {
  method: string;
  path: string;
  op: any;
}

function operationsOf(doc: any): Operation[] {
  return Object.entries<any>(doc.paths).flatMap(([path, item]) =>
    ["get", "post", "put", "patch", "delete"].filter((m) => item[m]).map((method) => ({ method: method.toUpperCase(), path, op: item[method] })),
  );
}

function propertiesOf(doc: any, op: any): string[] {
  let schema = op.requestBody?.content?.["application/json"]?.schema;
  if (schema?.$ref) schema = doc.components.schemas[schema.$ref.split("/").pop()];
  return Object.keys(schema?.properties ?? {});
}

describe("admin API fuzz from the OpenAPI document", () => {
  it("answers every malformed request with a 4xx problem, never a 5xx", async () => {
    const tenant = await scimTenant();
    const user = await tenant.scim("POST", "/Users", oktaUser());
    const group = await tenant.scim("POST", "/Groups", { displayName: `Fuzz ${crypto.randomUUID()}` });
    const hook = await admin("POST", `/tenants/${tenant.slug}/webhooks`, { url: "http://127.0.0.1:9/hook" });
    expect([user.status, group.status, hook.status]).toEqual([201, 201, 201]);
    const real: Record<string, string> = { slug: tenant.slug };
    const idFor = (path: string) => (path.includes("/webhooks/") ? hook.body.id : path.includes("/groups/") ? group.body.id : user.body.id);

    const doc = (await admin("GET", "/openapi.json")).body;
    const failures: string[] = [];
    const cases: Array<{ what: string; method: string; path: string; body?: string }> = [];
    const check = (what: string, res: JsonResponse) => {
      if (res.status >= 500) failures.push(`${what} → ${res.status} ${res.text.slice(0, 160)}`);
      else if (res.status >= 400 && res.headers.get("Content-Type") !== "application/problem+json") failures.push(`${what} → ${res.status} as ${res.headers.get("Content-Type")}`);
    };
    const send = (method: string, path: string, rawBody?: string) =>
      request(method, `/admin/v1${path}`, { rawBody, headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(rawBody !== undefined ? { "Content-Type": "application/json" } : {}) } });

    for (const { method, path, op } of operationsOf(doc)) {
      const params: any[] = op.parameters ?? [];
      const fill = (values: Record<string, string>) => path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(values[name] ?? "").replace(/%25/g, "%"));
      const realPath = path.replace(/\{(\w+)\}/g, (_, name) => (name === "slug" ? real.slug : idFor(path)));
      const destructive = method === "DELETE";

      // Odd path parameters (the only kind of request sent to DELETE operations).
      for (const odd of ODD_STRINGS) {
        if (!path.includes("{")) continue;
        const values = Object.fromEntries(params.filter((p) => p.in === "path").map((p) => [p.name, odd]));
        cases.push({ what: `${method} ${path} ← ${odd.slice(0, 20)}`, method, path: fill(values) });
      }
      if (destructive) continue;

      // Odd query values, one parameter at a time.
      for (const p of params.filter((p) => p.in === "query")) {
        for (const value of ODD_QUERY_VALUES) {
          const at = `${realPath}?${p.name}=${encodeURIComponent(value)}`;
          cases.push({ what: `${method} ${at.slice(0, 120)}`, method, path: at });
        }
      }

      // Broken bodies, and each documented property with values of every wrong type.
      if (op.requestBody) {
        for (const body of ODD_BODIES) cases.push({ what: `${method} ${realPath} body ${body.slice(0, 20)}`, method, path: realPath, body });
        for (const property of propertiesOf(doc, op)) {
          for (const value of [...WRONG_VALUES, HUGE]) {
            cases.push({ what: `${method} ${realPath} {${property}: ${JSON.stringify(value).slice(0, 20)}}`, method, path: realPath, body: JSON.stringify({ [property]: value }) });
          }
        }
      }
    }
    // Eight at a time: races between malformed requests are part of the test, and it stays quick.
    for (let i = 0; i < cases.length; i += 8) {
      await Promise.all(cases.slice(i, i + 8).map(async (c) => check(c.what, await send(c.method, c.path, c.body))));
    }
    expect(failures).toEqual([]);
    expect(cases.length).toBeGreaterThan(250);
  }, 180_000);
});
