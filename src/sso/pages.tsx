/** The pages a person sees on the sign-in path: a refusal (what happened, what to do) and the console's test result. */
import type { Child } from "hono/jsx";
import type { Refusal } from "./core";
import type { TestResult } from "./service";

const STYLE = `
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:40rem;margin:4rem auto;padding:2rem;background:#fff;border:1px solid #dde1e7;border-radius:8px}
h1{font-size:1.4rem;margin:0 0 1rem}
.muted{color:#5b6475;font-size:.875rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eceff3;vertical-align:top;word-break:break-all}
th{width:35%;font-weight:600}
.ok{color:#17663a}.bad{color:#a3261b}
`;

function Page(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{props.title} · TheStorage</title>
        <style>{STYLE}</style>
      </head>
      <body>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

export function RefusalPage(props: { refusal: Refusal; detail?: string }) {
  const r = props.refusal;
  return (
    <Page title={r.title}>
      <h1>{r.title}</h1>
      <p>{r.what}</p>
      {props.detail ? <p class="muted">{props.detail}</p> : null}
      <p>
        <strong>What to do:</strong> {r.todo}
      </p>
      <p class="muted">TheStorage sign-in · HTTP {r.status}</p>
    </Page>
  );
}

const REFUSAL_WORDS: Record<string, string> = {
  not_provisioned: "No user of this tenant's directory matches these claims: a real sign-in would be refused (not provisioned).",
  deactivated: "The matching user is deactivated: a real sign-in would be refused.",
};

/** The console's Test sign-in result: the claims received, and which directory user they matched or why none. */
export function TestResultPage(props: { result: TestResult }) {
  const { claims, matched, refusal } = props.result;
  const verdict = refusal ? REFUSAL_WORDS[refusal] ?? refusal : matched ? "A real sign-in would succeed and get a ticket." : "No user matches; a real sign-in would create one (JIT is on and SCIM is off).";
  return (
    <Page title="Test sign-in">
      <h1>Test sign-in</h1>
      <p class={refusal ? "bad" : "ok"} id="verdict">
        {verdict}
      </p>
      <h2>Matched directory user</h2>
      {matched ? (
        <table id="matched-user">
          <tbody>
            <tr>
              <th>userName</th>
              <td>{matched.userName}</td>
            </tr>
            <tr>
              <th>id</th>
              <td>{matched.id}</td>
            </tr>
            <tr>
              <th>externalId</th>
              <td>{matched.externalId ?? ""}</td>
            </tr>
            <tr>
              <th>active</th>
              <td>{String(matched.active)}</td>
            </tr>
          </tbody>
        </table>
      ) : (
        <p id="matched-user">None.</p>
      )}
      <h2>Claims received</h2>
      <table id="claims">
        <tbody>
          {Object.entries(claims).map(([name, value]) => (
            <tr>
              <th>{name}</th>
              <td>{typeof value === "string" ? value : JSON.stringify(value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">No ticket was issued. You can close this tab.</p>
    </Page>
  );
}

/** The Users page's "SSO" mark beside the origin badge: the user has signed in through the tenant's IdP. */
export function SsoMark(props: { lastSignInAt: string | null | undefined }) {
  if (!props.lastSignInAt) return null;
  return (
    <span class="badge sso" title={`Signs in through the organisation's IdP; last sign-in ${props.lastSignInAt}`}>
      SSO
    </span>
  );
}
