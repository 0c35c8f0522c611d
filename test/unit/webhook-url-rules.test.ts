import { describe, expect, it } from "vitest";
import { webhookUrlProblem } from "../../src/events/url-rules";

describe("webhookUrlProblem", () => {
  it("accepts public https URLs", () => {
    for (const url of ["https://app.example.com/hooks", "https://8.8.8.8/x", "https://[2606:4700::1111]/x", "https://172.32.0.1/x", "https://app.example.com:8443/x?y=1"]) {
      expect(webhookUrlProblem(url, false), url).toBeNull();
    }
  });

  it("accepts http(s)://127.0.0.1 and localhost only when loopback is allowed", () => {
    for (const url of ["http://127.0.0.1:8790/hook", "http://localhost:8790/hook", "https://localhost/x"]) {
      expect(webhookUrlProblem(url, true), url).toBeNull();
      expect(webhookUrlProblem(url, false), url).not.toBeNull();
    }
    expect(webhookUrlProblem("http://example.com/x", true)).toMatch(/https:\/\//);
    expect(webhookUrlProblem("http://[::1]/x", true)).toMatch(/https:\/\//);
  });

  it("refuses private, loopback, link-local, unspecified, metadata and internal targets, saying why", () => {
    const refused: Array<[string, RegExp]> = [
      ["https://10.0.0.1/", /private/],
      ["https://172.16.5.4/", /private/],
      ["https://172.31.255.255/", /private/],
      ["https://192.168.0.1/", /private/],
      ["https://127.1.2.3/", /loopback/],
      ["https://169.254.169.254/", /link-local/],
      ["https://0.0.0.0/", /0\.0\.0\.0/],
      ["https://100.64.0.1/", /carrier-grade/],
      ["https://[::1]/", /loopback/],
      ["https://[::]/", /unspecified/],
      ["https://[fc00::1]/", /fc00::\/7/],
      ["https://[fdff::1]/", /fc00::\/7/],
      ["https://[fe80::1]/", /fe80::\/10/],
      ["https://[::ffff:192.168.1.1]/", /private/],
      ["https://[::ffff:169.254.169.254]/", /link-local/],
      ["https://metadata.google.internal/", /metadata/],
      ["https://metadata/", /metadata/],
      ["https://foo.internal/", /internal/],
      ["https://printer.local/", /mDNS/],
      ["https://api.localhost/", /loopback/],
      ["https://2130706433/", /loopback/],
      ["https://user@example.com/", /credentials/],
    ];
    for (const [url, why] of refused) expect(webhookUrlProblem(url, false), url).toMatch(why);
    expect(webhookUrlProblem(`https://example.com/${"a".repeat(2100)}`, false)).toMatch(/longer/);
  });
});
