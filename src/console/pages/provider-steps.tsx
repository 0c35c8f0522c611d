/** Settings › User Provisioning: how to connect the tenant's own identity provider, step by step. */
import type { Child } from "hono/jsx";
import { providerLabel } from "../ui";

const TOKEN = (
  <>
    the <code>tsscim_…</code> token shown once when you switch SCIM on or regenerate
  </>
);

const PASSWORDS = "TheStorage SCIM stores no passwords (a password push is refused).";

interface Steps {
  /** Where in the provider's admin console the steps start. */
  where: string;
  steps: (endpoint: string) => Child[];
}

const STEPS: Record<string, Steps> = {
  okta: {
    where: 'Applications › Browse App Catalog › "SCIM 2.0 Test App (Header Auth)" › Add integration › Provisioning › Integration:',
    steps: (endpoint) => [
      <>
        Tick <strong>Enable API integration</strong>. <strong>Base URL</strong>: <code>{endpoint}</code>
      </>,
      <>
        <strong>API Token</strong>: {TOKEN}.
      </>,
      <>
        Click <strong>Test API Credentials</strong>, then <strong>Save</strong>; the line under these steps shows its request as soon as it arrives.
      </>,
      <>
        <strong>To App</strong>: turn on <strong>Create Users</strong>, <strong>Update User Attributes</strong> and <strong>Deactivate Users</strong>.
      </>,
      <>
        Leave <strong>Sync Password</strong> off: {PASSWORDS}
      </>,
      <>Assign people or groups on the Assignments tab (Push Groups for groups with their members); they appear under Users.</>,
      <>Unassigning a group deactivates its people in TheStorage: a mass deactivation by mistake is held (Deactivation hold, below) until released.</>,
    ],
  },
  entra: {
    where: "Microsoft Entra admin center › Enterprise applications › New application › Create your own application (non-gallery) › Provisioning:",
    steps: (endpoint) => [
      <>
        <strong>Provisioning Mode</strong>: Automatic.
      </>,
      <>
        <strong>Tenant URL</strong>: <code>{endpoint}</code>
      </>,
      <>
        <strong>Secret Token</strong>: {TOKEN}.
      </>,
      <>
        Click <strong>Test Connection</strong>, then <strong>Save</strong>; the line under these steps shows its request as soon as it arrives.
      </>,
      <>
        Under <strong>Users and groups</strong>, assign who should be provisioned; set <strong>Provisioning Status</strong> to On. Entra syncs about every
        40 minutes; <strong>Provision on demand</strong> pushes one user now.
      </>,
      <>
        Under <strong>Settings</strong>, Entra's own <strong>Prevent accidental deletion</strong> stops a large deletion on Entra's side; TheStorage's
        Deactivation hold (below) catches one that gets through.
      </>,
    ],
  },
  onelogin: {
    where: 'Applications › Add App › "SCIM Provisioner with SAML (SCIM v2 Enterprise)" › Configuration:',
    steps: (endpoint) => [
      <>
        <strong>SCIM Base URL</strong>: <code>{endpoint}</code>
      </>,
      <>
        <strong>SCIM Bearer Token</strong>: {TOKEN}.
      </>,
      <>
        Click <strong>Enable</strong> under API Status, then on <strong>Provisioning</strong> tick <strong>Enable provisioning</strong> and Save.
      </>,
      <>Give users access to the app (Users or Roles); they appear under Users.</>,
    ],
  },
  jumpcloud: {
    where: "SSO Applications › your custom application › Identity Management:",
    steps: (endpoint) => [
      <>
        <strong>API Type</strong>: SCIM API 2.0. <strong>Base URL</strong>: <code>{endpoint}</code>
      </>,
      <>
        <strong>Token Value</strong>: {TOKEN}.
      </>,
      <>
        Click <strong>Test Connection</strong>, then <strong>Activate</strong>; the line under these steps shows its request as soon as it arrives.
      </>,
      <>Bind user groups to the application; their members appear under Users.</>,
    ],
  },
};

/** Any other SCIM 2.0 client (Google Workspace, a generic one): the two values every client asks for. */
function genericSteps(label: string): Steps {
  return {
    where: `In ${label}'s SCIM 2.0 (or "custom SCIM app") provisioning settings:`,
    steps: (endpoint) => [
      <>
        <strong>Base URL</strong> (also called SCIM endpoint or Tenant URL): <code>{endpoint}</code>
      </>,
      <>
        <strong>Bearer token</strong>: {TOKEN}, sent as <code>Authorization: Bearer …</code>.
      </>,
      <>Test the connection; the line under these steps shows its request as soon as it arrives.</>,
      <>Turn on creating, updating and deactivating users. {PASSWORDS}</>,
    ],
  };
}

/** The steps for the tenant's provider (from its token), or for the one chosen while SCIM is off; `live`: the first-request line. */
export function ProviderSteps(props: { provider: string | null; endpoint: string; live?: Child }) {
  const provider = props.provider ?? "generic";
  const label = provider === "generic" ? "your identity provider" : providerLabel(provider);
  const { where, steps } = STEPS[provider] ?? genericSteps(label);
  return (
    <section class="panel" aria-labelledby={`checklist-heading-${provider}`}>
      <h2 id={`checklist-heading-${provider}`}>{`Connect ${label}`}</h2>
      <p class="muted small">{where}</p>
      <ol class="checklist">
        {steps(props.endpoint).map((step) => (
          <li>{step}</li>
        ))}
      </ol>
      {props.live}
    </section>
  );
}
