/**
 * A signing key and its self-signed X.509 certificate, made with Web Crypto (DER built here: a
 * certificate is a handful of nested TLVs). The SP signs its AuthnRequests with one per connection
 * (its certificate is in our SP metadata); the tests' stand-in IdP signs responses with another.
 */

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n >>= 8;
  }
  return [0x80 | bytes.length, ...bytes];
}
const tlv = (tag: number, body: number[]) => [tag, ...len(body.length), ...body];
const seq = (...parts: number[][]) => tlv(0x30, parts.flat());
const oid = (dotted: string) => {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a! + b!];
  for (const v of rest) {
    const chunk = [v & 0x7f];
    let x = v >> 7;
    while (x > 0) {
      chunk.unshift((x & 0x7f) | 0x80);
      x >>= 7;
    }
    out.push(...chunk);
  }
  return tlv(0x06, out);
};
const utf8 = (s: string) => tlv(0x0c, [...new TextEncoder().encode(s)]);
const utcTime = (d: Date) => tlv(0x17, [...new TextEncoder().encode(d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z")]);
const SHA256_RSA = seq(oid("1.2.840.113549.1.1.11"), [0x05, 0x00]);

function pem(label: string, der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

export interface SigningCredentials {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  certificatePem: string;
  /** The certificate's base64 body (what metadata carries in <ds:X509Certificate>). */
  certificateBase64: string;
}

/** A 2048-bit RSA key and a self-signed certificate for `cn`, valid from yesterday for `validDays`. */
export async function newSigningCredentials(cn: string, validDays = 365): Promise<SigningCredentials> {
  const pair = (await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = [...new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer)];
  const name = seq(tlv(0x31, seq(oid("2.5.4.3"), utf8(cn))));
  const now = Date.now();
  const serial = tlv(0x02, [0x01, ...crypto.getRandomValues(new Uint8Array(8))]);
  const tbs = seq(tlv(0xa0, tlv(0x02, [2])), serial, SHA256_RSA, name, seq(utcTime(new Date(now - 86_400_000)), utcTime(new Date(now + validDays * 86_400_000))), name, spki);
  const signature = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", pair.privateKey, new Uint8Array(tbs)));
  const cert = new Uint8Array(seq(tbs, SHA256_RSA, tlv(0x03, [0x00, ...signature])));
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
  const certificatePem = pem("CERTIFICATE", cert);
  return { privateKeyPem: pem("PRIVATE KEY", pkcs8), certificatePem, certificateBase64: btoa(String.fromCharCode(...cert)) };
}
