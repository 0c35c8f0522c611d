// The stand-in SAML IdP's signing code (test/support/saml-idp.ts: a fresh key and self-signed
// certificate, Okta-shaped responses signed with xml-crypto) for Node scripts (`npm run idp -- --saml`,
// `npm run bench:saml`): bundled once with esbuild into node_modules/.cache, so the tests and the
// scripts sign with one piece of code.
import { rm } from "node:fs/promises";
import path from "node:path";

const root = path.join(import.meta.dirname, "..", "..");

export async function loadSamlIdp() {
  const { build } = await import("esbuild");
  // Inside the checkout, so its import of xml-crypto resolves to node_modules.
  const outfile = path.join(root, "node_modules", ".cache", "saml-idp", `saml-idp-${process.pid}.mjs`);
  await build({ entryPoints: [path.join(root, "test", "support", "saml-idp.ts")], bundle: true, packages: "external", platform: "node", format: "esm", outfile, logLevel: "warning" });
  const module = await import(outfile);
  await rm(outfile, { force: true });
  return module;
}
