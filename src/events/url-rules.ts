/**
 * Which URLs a webhook may target (SSRF rules, design.md §4b): `https://` to a public host;
 * `http(s)://127.0.0.1` and `http(s)://localhost` only when the Worker runs locally
 * (WEBHOOK_ALLOW_LOOPBACK = "true"); never an address in any special-purpose range of the IANA
 * IPv4 and IPv6 registries (private, loopback, link-local and metadata, documentation, NAT64, 6to4 …),
 * in any textual form. Hostnames are not resolved (a Worker has no DNS API); Cloudflare's own egress does not
 * reach private networks, this refuses what can be seen in the URL itself.
 * Returns null when the URL is acceptable, else the reason (for a 400 detail).
 */
import ipaddr from "ipaddr.js";
import type { Env } from "../env";

const MAX_URL_LENGTH = 2048;

/** Whether this deployment accepts loopback targets (a local run): read the same way at create time and at delivery. */
export function loopbackAllowed(env: Pick<Env, "WEBHOOK_ALLOW_LOOPBACK">): boolean {
  return env.WEBHOOK_ALLOW_LOOPBACK === "true";
}

const METADATA_HOSTS = new Set(["metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal", "metadata.azure.com", "metadata.tencentyun.com"]);

/** Why each of ipaddr.js's special-purpose ranges (the IANA IPv4 and IPv6 registries) is refused. */
const RANGE_REASONS: Record<string, string> = {
  unspecified: "it is an unspecified or 'this network' address (0.0.0.0/8, ::)",
  broadcast: "it is the broadcast address",
  multicast: "it is a multicast address",
  linkLocal: "it is a link-local address (169.254/16, fe80::/10, where cloud metadata services live)",
  loopback: "it is a loopback address (127.0.0.0/8, ::1)",
  carrierGradeNat: "it is a shared (carrier-grade NAT) address (100.64/10)",
  private: "it is a private address (10/8, 172.16/12, 192.168/16)",
  reserved: "it is a reserved, documentation or benchmarking address (IANA special-purpose registry)",
  as112: "it is an AS112 DNS sink address",
  amt: "it is an AMT multicast relay address",
  uniqueLocal: "it is a unique-local (private) address (fc00::/7)",
  deprecatedSiteLocal: "it is a site-local (private) address (fec0::/10)",
  rfc6145: "it is an IPv4-translated address (::ffff:0:0:0/96)",
  rfc6052: "it is a NAT64 address (64:ff9b::/96, 64:ff9b:1::/48) that embeds an IPv4 address",
  "6to4": "it is a 6to4 address (2002::/16) that embeds an IPv4 address",
  teredo: "it is a Teredo tunnel address (2001::/32)",
  discard: "it is a discard-only address (100::/64)",
  benchmarking: "it is a benchmarking address (2001:2::/48)",
  as112v6: "it is an AS112 DNS sink address",
  deprecatedOrchid: "it is an ORCHID address (2001:10::/28)",
  orchid2: "it is an ORCHIDv2 address (2001:20::/28)",
  droneRemoteIdProtocolEntityTags: "it is a drone remote ID address (2001:30::/28)",
  segmentRouting: "it is a segment-routing SID (5f00::/16)",
};

/** The only IPv6 space IANA allocates for global unicast; everything outside it is special or unassigned. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");

/**
 * Null when `address` (an IPv4 dotted quad or an IPv6 literal without brackets, as the URL parser
 * normalised it) is an ordinary public unicast address, else why not. ipaddr.js classifies it against
 * the IANA special-purpose registries, whatever textual form reached it.
 */
function addressReason(address: string): string | null {
  if (!ipaddr.isValid(address)) return "it is not a valid IP address";
  const parsed = ipaddr.parse(address);
  const range = parsed.range();
  if (parsed.kind() === "ipv6" && range === "ipv4Mapped") {
    const v4 = (parsed as ipaddr.IPv6).toIPv4Address().toString();
    const inner = addressReason(v4);
    return inner ? `it is the IPv4-mapped form of ${v4}, and ${inner}` : `it is the IPv4-mapped form of ${v4} (::ffff:0:0/96): use ${v4} itself`;
  }
  if (range !== "unicast") return RANGE_REASONS[range] ?? `it is a special-purpose address (${range})`;
  if (parsed.kind() === "ipv6" && !parsed.match(GLOBAL_UNICAST_V6)) return "it is outside the global unicast space (2000::/3), such as an IPv4-compatible or unassigned address";
  return null;
}

export function webhookUrlProblem(raw: string, allowLoopback: boolean): string | null {
  if (raw.length > MAX_URL_LENGTH) return `The URL is longer than ${MAX_URL_LENGTH} characters.`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "It is not an absolute URL. Use https://your-app.example/webhooks/scim.";
  }
  if (url.username || url.password) return "It carries credentials (user:password@). Remove them; deliveries are authenticated by their signature.";
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  const isLoopbackName = host === "localhost" || host === "127.0.0.1";
  if (isLoopbackName && allowLoopback && (url.protocol === "http:" || url.protocol === "https:")) return null;
  if (url.protocol !== "https:") {
    return allowLoopback
      ? "Webhook URLs must be https:// (http:// only to 127.0.0.1 or localhost on a local run)."
      : "Webhook URLs must be https://.";
  }
  if (host === "localhost" || host.endsWith(".localhost")) return `'${host}' is a loopback host name; loopback targets are accepted only on a local run (WEBHOOK_ALLOW_LOOPBACK).`;
  if (METADATA_HOSTS.has(host) || host.endsWith(".internal")) return `'${host}' is a cloud metadata or internal host name.`;
  if (host.endsWith(".local")) return `'${host}' is a local-network (mDNS) host name.`;
  const literal = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : ipaddr.IPv4.isValidFourPartDecimal(host) ? host : null;
  if (literal !== null) {
    const reason = addressReason(literal);
    const loopbackHint = reason === RANGE_REASONS.loopback ? "; loopback targets are accepted only on a local run" : "";
    return reason ? `${host} is refused: ${reason}${loopbackHint}.` : null;
  }
  return null;
}
