/**
 * Which URLs a webhook may target (SSRF rules, design.md §4b): `https://` to a public host;
 * `http(s)://127.0.0.1` and `http(s)://localhost` only when the Worker runs locally
 * (WEBHOOK_ALLOW_LOOPBACK = "true"); never private, link-local, unspecified or cloud-metadata
 * addresses. Hostnames are not resolved (a Worker has no DNS API); Cloudflare's own egress does not
 * reach private networks, this refuses what can be seen in the URL itself.
 * Returns null when the URL is acceptable, else the reason (for a 400 detail).
 */
import type { Env } from "../env";

const MAX_URL_LENGTH = 2048;

/** Whether this deployment accepts loopback targets (a local run): read the same way at create time and at delivery. */
export function loopbackAllowed(env: Pick<Env, "WEBHOOK_ALLOW_LOOPBACK">): boolean {
  return env.WEBHOOK_ALLOW_LOOPBACK === "true";
}

const METADATA_HOSTS = new Set(["metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal", "metadata.azure.com", "metadata.tencentyun.com"]);

function ipv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

function ipv4Reason(bytes: number[]): string | null {
  const [a, b] = bytes as [number, number, number, number];
  if (a === 0) return "0.0.0.0/8 is not a routable destination";
  if (a === 127) return "it is a loopback address (127.0.0.0/8)";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "it is a private address (10/8, 172.16/12, 192.168/16)";
  if (a === 169 && b === 254) return "it is a link-local address (169.254/16, where cloud metadata services live)";
  if (a === 100 && b >= 64 && b <= 127) return "it is a shared (carrier-grade NAT) address (100.64/10)";
  if (a >= 224) return "it is a multicast or reserved address";
  return null;
}

/** Expands an IPv6 literal (without brackets) into 8 16-bit groups; null if it is not one. */
function ipv6Groups(host: string): number[] | null {
  let text = host;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let extra: number[] = [];
  if (tail) {
    const v4 = ipv4(tail[1]!);
    if (!v4) return null;
    extra = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    text = text.slice(0, -tail[1]!.length) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string) => (s ? s.split(":").map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)) : []);
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...Array(missing).fill(0), ...rest];
  if (groups.some(Number.isNaN)) return null;
  if (extra.length) groups.splice(6, 2, ...extra);
  return groups;
}

function ipv6Reason(groups: number[]): string | null {
  if (groups.every((g) => g === 0)) return "it is the unspecified address (::)";
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return "it is the loopback address (::1)";
  const first = groups[0]!;
  if ((first & 0xfe00) === 0xfc00) return "it is a unique-local (private) address (fc00::/7)";
  if ((first & 0xffc0) === 0xfe80) return "it is a link-local address (fe80::/10)";
  if ((first & 0xff00) === 0xff00) return "it is a multicast address";
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms: judge the embedded IPv4 address.
  if (groups.slice(0, 5).every((g) => g === 0) && (groups[5] === 0xffff || groups[5] === 0)) {
    return ipv4Reason([groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255]);
  }
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
  const v4 = ipv4(host);
  if (v4) {
    const reason = ipv4Reason(v4);
    return reason ? `${host} is refused: ${reason}${v4[0] === 127 ? "; loopback targets are accepted only on a local run" : ""}.` : null;
  }
  if (host.startsWith("[") && host.endsWith("]")) {
    const groups = ipv6Groups(host.slice(1, -1));
    if (!groups) return `${host} is not a valid IPv6 address.`;
    const reason = ipv6Reason(groups);
    return reason ? `${host} is refused: ${reason}.` : null;
  }
  return null;
}
