// Issue 18 (design.md §4h): a 1,000-operation /Bulk stays far inside D1's 1,000 queries per Worker
// invocation. Creates run 50 at a time with their write batches coalesced into one D1 batch; each
// operation's outcome is still its own (a conflict fails that create only).
import { describe, expect, it } from "vitest";
import { admin, oktaUser, scimTenant } from "../support/harness";

const roundTrips = (header: string | null) => Number(/desc="rt=(\d+)"/.exec(header ?? "")?.[1] ?? NaN);

describe("/Bulk query budget", () => {
  it("creates 1,000 users in a few dozen D1 round trips, each operation answered on its own", async () => {
    const tenant = await scimTenant();
    const taken = await tenant.scim("POST", "/Users", oktaUser({ userName: "taken@bulk.example" }));
    expect(taken.status).toBe(201);
    const Operations = Array.from({ length: 1000 }, (_, i) => {
      if (i === 500) return { method: "POST", path: "/Users", bulkId: `u${i}`, data: oktaUser({ userName: "TAKEN@bulk.example" }) };
      if (i === 501) return { method: "POST", path: "/Users", bulkId: `u${i}`, data: { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"] } };
      if (i === 999) return { method: "POST", path: "/Groups", bulkId: "g", data: { displayName: "Bulk group", members: [{ value: "bulkId:u0" }, { value: "bulkId:u998" }] } };
      return { method: "POST", path: "/Users", bulkId: `u${i}`, data: oktaUser({ userName: `bulk${i}@bulk.example` }) };
    });
    const answer = await tenant.scim("POST", "/Bulk", { schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], Operations });
    expect(answer.status).toBe(200);
    const statuses = answer.body.Operations.map((o: { status: string }) => o.status);
    expect(statuses.filter((s: string) => s === "201")).toHaveLength(998);
    expect(statuses[500]).toBe("409");
    expect(statuses[501]).toBe("400");
    expect(answer.body.Operations[999].bulkId).toBe("g");
    // 1,000 creates one by one took about 1,000 round trips; coalesced, 20 windows of 50 (and their failures' log rows).
    expect(roundTrips(answer.headers.get("Server-Timing"))).toBeLessThanOrEqual(60);
    expect((await tenant.scim("GET", "/Users?count=0")).body.totalResults).toBe(1 + 997);
    const group = await tenant.scim("GET", answer.body.Operations[999].location.replace(/^.*\/scim\/v2/, ""));
    expect(group.body.members.map((m: { value: string }) => m.value).sort()).toEqual(
      [answer.body.Operations[0].location, answer.body.Operations[998].location].map((l: string) => l.split("/").pop()).sort(),
    );
    // Each create logged on its own, refusals included.
    const log = await admin("GET", `/tenants/${tenant.slug}/events?limit=500&outcome=failure`);
    expect(log.body.events.map((e: { status: number }) => e.status).sort()).toEqual([400, 409]);
  });

  it("holds each operation to its own endpoint's size: 1 MB, a group write up to 16 MiB", async () => {
    const tenant = await scimTenant();
    const group = await tenant.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Bulk big" });
    const user = await tenant.scim("POST", "/Users", oktaUser());
    const manyEmails = Array.from({ length: 300 }, (_, i) => ({ value: `${"x".repeat(4000)}${i}@example.com` }));
    const members = [{ value: user.body.id }, ...Array.from({ length: 20_000 }, (_, i) => ({ value: `unknown-${i}`, display: "Firstname Lastname" }))];
    const answer = await tenant.scim("POST", "/Bulk", {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
      Operations: [
        { method: "POST", path: "/Users", bulkId: "big", data: oktaUser({ emails: manyEmails }) },
        { method: "POST", path: "/Users", bulkId: "ok", data: oktaUser() },
        { method: "PATCH", path: `/Groups/${group.body.id}`, data: { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "members", value: members }] } },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.Operations.map((o: { status: string }) => o.status)).toEqual(["413", "201", "200"]);
    expect(answer.body.Operations[0].response.scimType).toBe("tooLarge");
    const read = await tenant.scim("GET", `/Groups/${group.body.id}`);
    expect(read.body.members.map((m: { value: string }) => m.value)).toEqual([user.body.id]);
  });
});
