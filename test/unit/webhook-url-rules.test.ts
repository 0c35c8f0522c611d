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

  it("refuses every special-purpose range of the IANA IPv4 and IPv6 registries, in every textual form", () => {
    const refused = [
      // IPv4 special-purpose registry (RFC 6890 and successors), plus multicast and broadcast.
      "https://0.1.2.3/",
      "https://192.0.0.1/",
      "https://192.0.0.9/",
      "https://192.0.2.10/",
      "https://192.31.196.1/",
      "https://192.52.193.1/",
      "https://192.88.99.1/",
      "https://192.175.48.1/",
      "https://198.18.0.1/",
      "https://198.19.255.254/",
      "https://198.51.100.7/",
      "https://203.0.113.9/",
      "https://240.0.0.1/",
      "https://224.0.0.1/",
      "https://255.255.255.255/",
      // Other spellings of loopback and metadata the URL parser turns into dotted quads.
      "https://0x7f.1/",
      "https://0177.0.0.1/",
      "https://127.1/",
      "https://0xa9fea9fe/",
      // IPv6: embedded IPv4 forms of loopback and metadata.
      "https://[::ffff:0:7f00:1]/",
      "https://[::ffff:0:a9fe:a9fe]/",
      "https://[::ffff:7f00:1]/",
      "https://[::ffff:127.0.0.1]/",
      "https://[::127.0.0.1]/",
      "https://[::7f00:1]/",
      "https://[64:ff9b::7f00:1]/",
      "https://[64:ff9b::169.254.169.254]/",
      "https://[64:ff9b:1::a9fe:a9fe]/",
      "https://[2002:7f00:1::]/",
      "https://[2002:a9fe:a9fe::1]/",
      "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
      // IPv6 special-purpose registry and deprecated ranges.
      "https://[fec0::1]/",
      "https://[feff::1]/",
      "https://[100::1]/",
      "https://[100:0:0:1::1]/",
      "https://[2001:2::1]/",
      "https://[2001:3::1]/",
      "https://[2001:4:112::1]/",
      "https://[2001:10::1]/",
      "https://[2001:20::1]/",
      "https://[2001:30::1]/",
      "https://[2001:db8::1]/",
      "https://[2001:1::1]/",
      "https://[2620:4f:8000::1]/",
      "https://[3fff::1]/",
      "https://[5f00::1]/",
      "https://[ff02::1]/",
      "https://[0:0:0:0:0:0:0:1]/",
      "https://[::0:1]/",
    ];
    for (const url of refused) {
      expect(webhookUrlProblem(url, false), url).toMatch(/is refused: /);
      // On a local run only 127.0.0.1 itself (however it is spelled) and localhost become acceptable.
      if (new URL(url).hostname !== "127.0.0.1") expect(webhookUrlProblem(url, true), url).not.toBeNull();
    }
    for (const url of ["https://1.1.1.1/", "https://198.20.0.1/", "https://192.0.3.1/", "https://[2606:4700:4700::1111]/", "https://[2a00:1450:4001:80e::200e]/"]) {
      expect(webhookUrlProblem(url, false), url).toBeNull();
    }
  });
});
