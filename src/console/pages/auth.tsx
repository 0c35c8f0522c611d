/** Sign-in and the "console disabled" page. */
import { Field, Layout, Notice } from "../ui";

export function SignInPage(props: { error?: string; disabled?: boolean; signedOut?: boolean }) {
  return (
    <Layout title="Sign in" ctx={{}}>
      <div class="signin panel">
        <h1>Sign in</h1>
        {props.disabled ? (
          <>
            <Notice kind="warn">The admin console is disabled: the ADMIN_TOKEN secret is not set.</Notice>
            <p>
              Set it with <code>wrangler secret put ADMIN_TOKEN</code> (locally: <code>.dev.vars</code>, which <code>npm start</code> writes), then reload
              this page.
            </p>
          </>
        ) : (
          <>
            {props.signedOut ? <Notice kind="ok">You are signed out.</Notice> : null}
            <p class="muted">Paste the operator token (ADMIN_TOKEN). The console keeps a signed session cookie for 8 hours; the token itself is not stored.</p>
            <form method="post" action="/admin/sign-in">
              <Field label="Admin token" name="token" type="password" autocomplete="current-password" required error={props.error} />
              <button type="submit">Sign in</button>
            </form>
          </>
        )}
      </div>
    </Layout>
  );
}
